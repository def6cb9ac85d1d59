import type { IncomingMessage } from 'node:http';

/** The client address of every session of the stdio front: its one client is the local user. */
export const STDIO_CLIENT = 'stdio';

/**
 * The downstream peer's IP, read once per session (or per stateless request) for limits keyed on
 * `client`. An IPv4 peer of a dual-stack listener arrives as "::ffff:127.0.0.2": written the IPv4 way,
 * so one client has one counter whichever address the gateway listens on. Behind a reverse proxy this
 * is the proxy's address (forwarding headers can be forged by any client, so they are not read).
 */
export function clientAddressOf(request: IncomingMessage): string {
  const address = request.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
