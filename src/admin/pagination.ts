import { GatehouseError } from '../core/index.js';

/**
 * Cursor pagination over a name-sorted list. The cursor names the last item served, not an offset,
 * so a record added or removed between two requests neither repeats nor skips another; it is opaque
 * (base64url JSON) so clients do not build it and it can change shape later.
 */
export function paginate<T>(
  items: readonly T[],
  nameOf: (item: T) => string,
  limit: number,
  cursor: string | undefined,
): { items: T[]; nextCursor?: string } {
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  const rest = after === undefined ? items : items.filter((item) => nameOf(item).localeCompare(after) > 0);
  const page = rest.slice(0, limit);
  const last = page.at(-1);
  return rest.length > limit && last !== undefined ? { items: page, nextCursor: encodeCursor(nameOf(last)) } : { items: page };
}

function encodeCursor(after: string): string {
  return Buffer.from(JSON.stringify({ after }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof decoded === 'object' && decoded !== null && 'after' in decoded && typeof decoded.after === 'string') return decoded.after;
  } catch {
    // not one of ours: answered below
  }
  throw new GatehouseError('invalid_query', 'cursor: pass back the nextCursor of a previous page.', { issues: [{ path: 'cursor', message: 'not a cursor from this API' }] });
}
