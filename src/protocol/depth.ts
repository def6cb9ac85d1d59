/**
 * Finds the deepest nesting of arrays/objects in a JSON text without parsing it, so that a body such
 * as 200 000 nested `[` is refused in linear time before JSON.parse (whose recursion it would stress).
 * Strings are skipped, honouring backslash escapes. Returns true when the depth exceeds `maxDepth`.
 */
export function exceedsDepth(bytes: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  const length = bytes.length;
  for (let index = 0; index < length; index++) {
    const byte = bytes[index];
    if (inString) {
      if (byte === 0x5c /* \ */) index++;
      else if (byte === 0x22 /* " */) inString = false;
      continue;
    }
    if (byte === 0x22) inString = true;
    else if (byte === 0x5b /* [ */ || byte === 0x7b /* { */) {
      if (++depth > maxDepth) return true;
    } else if (byte === 0x5d /* ] */ || byte === 0x7d /* } */) depth--;
  }
  return false;
}
