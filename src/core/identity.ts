/**
 * Who is calling, as the authentication step established it. Every request carries one; a session
 * is bound to the identity that opened it. Filters (authorization, limits, audit) read it; nothing
 * writes it after authentication.
 */
export interface Identity {
  /** How the caller proved who they are. */
  readonly kind: 'anonymous' | 'api-key' | 'jwt';
  /** Stable id of the principal: the JWT subject (`iss` + `sub` make it unique), the key id, or "anonymous". */
  readonly subject: string;
  /** A readable name for logs and audit (the user's name or e-mail, the key's name). */
  readonly name?: string | undefined;
  readonly issuer?: string | undefined;
  readonly groups: readonly string[];
  readonly team?: string | undefined;
  /** Roles policies refer to (from the API key, or mapped from a token claim). */
  readonly roles: readonly string[];
  /** OAuth scopes the token carries (empty for API keys). */
  readonly scopes: readonly string[];
  /** For API keys: the servers and virtual servers the key is limited to; undefined means no limit. */
  readonly endpoints?: readonly string[] | undefined;
  /** Epoch milliseconds after which the credential is no longer valid, when it says. */
  readonly expiresAt?: number | undefined;
}

export const ANONYMOUS: Identity = Object.freeze({ kind: 'anonymous', subject: 'anonymous', groups: [], roles: [], scopes: [] });

/** Whether two identities are the same principal (a session may only be used by the one that opened it). */
export function samePrincipal(a: Identity, b: Identity): boolean {
  return a.kind === b.kind && a.subject === b.subject && a.issuer === b.issuer;
}

/**
 * Whether `presented` is the session's principal with a newer credential (a client that refreshed its
 * access token mid-session): calls made from then on, token exchange toward upstreams included, start
 * from it. Anonymous requests and other principals never replace a session's identity.
 */
export function isNewerCredential(current: Identity, presented: Identity): boolean {
  return presented !== current && presented.kind !== 'anonymous' && samePrincipal(current, presented);
}

/**
 * The bearer token a caller presented, kept beside its Identity rather than in it, so that logging or
 * serialising an identity can never print it. Read only to exchange it at its issuer (RFC 8693); it is
 * never sent to an upstream.
 */
const presentedTokens = new WeakMap<Identity, string>();

export function withPresentedToken(identity: Identity, token: string): Identity {
  presentedTokens.set(identity, token);
  return identity;
}

export function presentedToken(identity: Identity): string | undefined {
  return presentedTokens.get(identity);
}

/** Whom a policy or limit rule is for: anyone matching one entry of any list. */
export interface IdentityMatch {
  readonly users: readonly string[];
  readonly groups: readonly string[];
  readonly teams: readonly string[];
  readonly roles: readonly string[];
  readonly keys: readonly string[];
}

/** A test of `who` (every caller when undefined): users are token subjects, keys API key ids. */
export function identityMatcher(who: IdentityMatch | undefined): (identity: Identity) => boolean {
  if (who === undefined) return () => true;
  return (identity) =>
    (identity.kind === 'jwt' && who.users.includes(identity.subject)) ||
    (identity.kind === 'api-key' && who.keys.includes(identity.subject)) ||
    identity.groups.some((group) => who.groups.includes(group)) ||
    (identity.team !== undefined && who.teams.includes(identity.team)) ||
    identity.roles.some((role) => who.roles.includes(role));
}
