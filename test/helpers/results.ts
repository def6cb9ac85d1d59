// Reading tool results in tests: the text a client sees in a `tools/call` result.

/** The `text` of every content block of a tool result, one per line (`''` for a block without text). */
export function textOf(result: object): string {
  return (((result as { content?: unknown }).content ?? []) as { text?: string }[]).map((item) => item.text ?? '').join('\n');
}
