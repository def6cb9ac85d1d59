import type { Identity } from '../../core/index.js';

/**
 * Where each part of an Identity is read from in a verified token's claims. Each value is a claim
 * name or a dot path into nested objects, because identity providers nest them differently:
 * Keycloak puts roles at `realm_access.roles`, Auth0 under a namespaced claim, Entra ID at `roles`.
 */
export interface ClaimPaths {
  readonly user: string;
  readonly name: string;
  readonly groups: string;
  readonly team: string;
  readonly roles: string;
}

/**
 * Reads a claim by dot path. A claim whose own name contains a dot (`https://example.com/roles`,
 * Auth0's namespaced claims) is found too: the whole path is tried as one name first.
 */
export function claimAt(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let value: unknown = claims;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** A claim that is a string or an array of strings, as a list; anything else is no value. */
export function stringList(value: unknown): string[] {
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string' && item !== '');
  return [];
}

function firstString(value: unknown): string | undefined {
  return stringList(value)[0];
}

/**
 * The scopes a token carries. RFC 9068 §2.2.3 and RFC 8693 §4.2 define `scope` as one
 * space-separated string; Entra ID sends `scp` as such a string and Okta sends `scp` as an array,
 * so both shapes are read.
 */
export function scopesOf(claims: Readonly<Record<string, unknown>>): string[] {
  const scopes = new Set<string>();
  for (const value of [claims['scope'], claims['scp']]) {
    for (const item of stringList(value)) for (const scope of item.split(' ')) if (scope !== '') scopes.add(scope);
  }
  return [...scopes];
}

/**
 * Builds the Identity of a verified token. Returns undefined when the token names no user: a
 * principal without a subject cannot be audited or bound to a session.
 */
export function identityFromClaims(claims: Readonly<Record<string, unknown>>, paths: ClaimPaths, issuer: string): Identity | undefined {
  const subject = firstString(claimAt(claims, paths.user));
  if (subject === undefined) return undefined;
  const exp = claims['exp'];
  return {
    kind: 'jwt',
    subject,
    name: firstString(claimAt(claims, paths.name)),
    issuer,
    groups: stringList(claimAt(claims, paths.groups)),
    team: firstString(claimAt(claims, paths.team)),
    roles: stringList(claimAt(claims, paths.roles)),
    scopes: scopesOf(claims),
    expiresAt: typeof exp === 'number' ? exp * 1000 : undefined,
  };
}
