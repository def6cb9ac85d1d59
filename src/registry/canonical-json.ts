import { createHash } from 'node:crypto';

/**
 * Canonical JSON: one text for equal values whatever order their keys came in. The Registry compares
 * records with it (registry.ts) and fingerprints a tool's definition with it, so the same tool hashes
 * the same on every replica and from every server.
 */

/** A stable hash of what a model reads about a tool: a change here is a change in what it will do. */
export function toolFingerprint(tool: Record<string, unknown>): string {
  const { name, title, description, inputSchema, outputSchema, annotations } = tool;
  return createHash('sha256')
    .update(canonicalJson({ name, title, description, inputSchema, outputSchema, annotations }))
    .digest('hex');
}

/** JSON with object keys sorted, so equal values hash equally whatever order a server sent them in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
