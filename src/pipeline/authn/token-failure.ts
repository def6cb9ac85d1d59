import { GatehouseError } from '../../core/index.js';
import type { Identity } from '../../core/index.js';

/** Anything that turns a bearer token into an Identity, or refuses it with a catalogue error. */
export interface TokenVerifier {
  /** Resolves to who the token names; rejects with `unauthorized` (401) or `insufficient_scope` (403). */
  verify(token: string): Promise<Identity>;
}

/**
 * Stable reasons a token is refused, sent as `data.failure` beside the catalogue code so logs,
 * audit and tests can tell them apart without parsing the message.
 */
export type TokenFailure =
  | 'malformed'
  | 'unknown_issuer'
  | 'algorithm_not_allowed'
  | 'bad_signature'
  | 'unknown_key'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'invalid_claims'
  | 'no_subject'
  | 'keys_unavailable'
  | 'inactive'
  | 'introspection_unavailable';

/** An `unauthorized` refusal. `detail` names what was wrong and must never contain the token. */
export function refuse(failure: TokenFailure, detail: string): GatehouseError {
  return new GatehouseError('unauthorized', detail, { failure });
}

/**
 * The `insufficient_scope` refusal (RFC 6750 §3.1, 403), carrying every scope the endpoint needs so
 * the client can ask its authorization server for them (the `scope` of WWW-Authenticate).
 */
export function requireScopes(identity: Identity, requiredScopes: readonly string[]): void {
  const missing = requiredScopes.filter((scope) => !identity.scopes.includes(scope));
  if (missing.length > 0) {
    throw new GatehouseError('insufficient_scope', `Missing scope: ${missing.join(' ')}.`, { requiredScopes: [...requiredScopes] });
  }
}
