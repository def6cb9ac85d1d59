import { createHash } from 'node:crypto';

/** Several clients reject tool names longer than 64 characters (and the spec recommends ≤ 64). */
export const MAX_NAME_LENGTH = 64;

/**
 * `server` + separator + `name`, shortened deterministically when too long: the head of the name and
 * 8 hex digits of a hash of the whole, so the same tool always gets the same name. The router keeps
 * the reverse mapping, so the shortening is reversible.
 */
export function exposedName(server: string, name: string, separator: string): string {
  const full = `${server}${separator}${name}`;
  if (full.length <= MAX_NAME_LENGTH) return full;
  const digest = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, MAX_NAME_LENGTH - 9)}_${digest}`;
}

/**
 * Resource URIs are namespaced by prefixing the scheme: `files+file:///a.txt`. The result is still a
 * valid URI (RFC 3986 allows "+" in schemes) and server names never contain "+", so it reverses.
 */
export function exposedUri(server: string, uri: string): string {
  return `${server}+${uri}`;
}

/** Splits an exposed URI into server and original URI, if it carries a known server prefix. */
export function splitExposedUri(uri: string, isServer: (name: string) => boolean): { server: string; uri: string } | undefined {
  const plus = uri.indexOf('+');
  if (plus <= 0) return undefined;
  const server = uri.slice(0, plus);
  return isServer(server) ? { server, uri: uri.slice(plus + 1) } : undefined;
}
