import type { IncomingMessage } from 'node:http';
import { ANONYMOUS, type Identity } from '../core/index.js';

/**
 * The identity the HTTP edge authenticated for a request, kept beside it rather than threaded through
 * every frontend call: a WeakMap entry dies with the request.
 */
const identities = new WeakMap<IncomingMessage, Identity>();

export function setRequestIdentity(request: IncomingMessage, identity: Identity): void {
  identities.set(request, identity);
}

export function requestIdentity(request: IncomingMessage): Identity {
  return identities.get(request) ?? ANONYMOUS;
}
