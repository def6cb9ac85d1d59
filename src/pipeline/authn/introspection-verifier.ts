import { hash } from 'node:crypto';
import { request } from 'undici';
import { GatehouseError } from '../../core/index.js';
import type { Identity } from '../../core/index.js';
import { claimAt, identityFromClaims, stringList } from './claims-to-identity.js';
import type { ClaimPaths } from './claims-to-identity.js';
import { refuse, requireScopes } from './token-failure.js';
import type { TokenVerifier } from './token-failure.js';

export interface IntrospectionVerifierOptions {
  /** The authorization server's RFC 7662 introspection endpoint. */
  readonly endpoint: string;
  /** The gateway's own client credentials there (RFC 7662 §2.1: the caller MUST authenticate). */
  readonly clientId: string;
  readonly clientSecret: string;
  /** Accepted `aud` values: the gateway's resource identifiers (RFC 8707 §2). Must not be empty. */
  readonly audiences: readonly string[];
  /** Expected `iss`, when the server reports one; also the Identity's issuer. */
  readonly issuer?: string | undefined;
  readonly claims?: Partial<ClaimPaths> | undefined;
  readonly requiredScopes?: readonly string[] | undefined;
  /** Seconds of clock skew allowed on `exp` and `nbf`. Default 30. */
  readonly clockToleranceSec?: number | undefined;
  /** Time limit for one introspection request. Default 5000 ms. */
  readonly fetchTimeoutMs?: number | undefined;
  /**
   * How long an active answer is reused, ms (never past the token's `exp`). Default 30000; 0 asks
   * every time. RFC 7662 §4 leaves this trade-off to the resource server: caching saves a round
   * trip per call, at the price of a revoked token working until its cache entry expires.
   */
  readonly cacheTtlMs?: number | undefined;
  /** At most this many answers are kept; the oldest go first. Default 10000. */
  readonly maxCacheEntries?: number | undefined;
}

const DEFAULT_CLAIMS: ClaimPaths = { user: 'sub', name: 'email', groups: 'groups', team: 'team', roles: 'roles' };
const MAX_RESPONSE_BYTES = 256 * 1024;

interface CacheEntry {
  readonly identity: Identity;
  readonly until: number;
}

/**
 * Verifies opaque access tokens by asking the authorization server (OAuth 2.0 Token Introspection,
 * RFC 7662). The answer is checked as strictly as a JWT would be: it must be active, meant for this
 * gateway (`aud`), from the expected issuer, and inside its validity window.
 */
export function createIntrospectionVerifier(options: IntrospectionVerifierOptions): TokenVerifier {
  if (options.audiences.length === 0) throw new GatehouseError('config_invalid', 'Token introspection: no audience to check tokens against.');
  const claims: ClaimPaths = { ...DEFAULT_CLAIMS, ...options.claims };
  const requiredScopes = options.requiredScopes ?? [];
  const toleranceSec = options.clockToleranceSec ?? 30;
  const timeoutMs = options.fetchTimeoutMs ?? 5_000;
  const cacheTtlMs = options.cacheTtlMs ?? 30_000;
  const maxCacheEntries = options.maxCacheEntries ?? 10_000;
  // RFC 6749 §2.3.1: client id and secret are form-encoded before the Basic encoding.
  const authorization = `Basic ${Buffer.from(`${encodeURIComponent(options.clientId)}:${encodeURIComponent(options.clientSecret)}`).toString('base64')}`;
  // Keyed by a hash, so the cache never holds a usable token.
  const cache = new Map<string, CacheEntry>();

  async function introspect(token: string): Promise<Record<string, unknown>> {
    let statusCode: number;
    let text = '';
    try {
      const response = await request(options.endpoint, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
      });
      statusCode = response.statusCode;
      let size = 0;
      const chunks: Buffer[] = [];
      for await (const chunk of response.body) {
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
        size += buffer.length;
        if (size > MAX_RESPONSE_BYTES) {
          response.body.destroy();
          throw new Error('introspection response too large');
        }
        chunks.push(buffer);
      }
      text = Buffer.concat(chunks).toString('utf8');
    } catch {
      throw refuse('introspection_unavailable', 'The authorization server could not be asked about the token; try again later.');
    }
    if (statusCode !== 200) throw refuse('introspection_unavailable', `The authorization server's introspection endpoint answered HTTP ${statusCode}.`);
    let body: unknown;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      body = undefined;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw refuse('introspection_unavailable', 'The authorization server\'s introspection answer is not JSON.');
    }
    return body as Record<string, unknown>;
  }

  function identityOf(answer: Record<string, unknown>): Identity {
    // RFC 7662 §2.2: `active` is REQUIRED; anything but `true` means the token must not be used.
    if (answer['active'] !== true) throw refuse('inactive', 'The access token is not active (expired, revoked or unknown).');
    const nowSec = Date.now() / 1000;
    const { exp, nbf, iss } = answer;
    if (typeof exp === 'number' && exp + toleranceSec <= nowSec) throw refuse('expired', 'The access token has expired.');
    if (typeof nbf === 'number' && nbf - toleranceSec > nowSec) throw refuse('not_yet_valid', 'The access token is not valid yet (nbf is in the future).');
    if (options.issuer !== undefined && iss !== undefined && iss !== options.issuer) throw refuse('wrong_issuer', 'The access token names the wrong issuer.');
    // MCP authorization 2025-11-25 §Token Handling: the token must have been issued for this server.
    if (!stringList(answer['aud']).some((aud) => options.audiences.includes(aud))) {
      throw refuse('wrong_audience', 'The access token was not issued for this gateway (wrong audience).');
    }
    const issuer = options.issuer ?? (typeof iss === 'string' ? iss : undefined) ?? new URL(options.endpoint).origin;
    // A token a client got for itself (client_credentials) names no user; RFC 9068 §2.2 uses the
    // client id as the subject of such tokens, and so do we when the user claim is absent.
    const withSubject = claimAt(answer, claims.user) === undefined && typeof answer['client_id'] === 'string' ? { ...answer, [claims.user]: answer['client_id'] } : answer;
    const identity = identityFromClaims(withSubject, claims, issuer);
    if (identity === undefined) throw refuse('no_subject', `The access token has no "${claims.user}" claim to name the user.`);
    return identity;
  }

  function remember(key: string, identity: Identity): void {
    if (cacheTtlMs <= 0) return;
    const until = Math.min(Date.now() + cacheTtlMs, identity.expiresAt ?? Number.POSITIVE_INFINITY);
    if (cache.size >= maxCacheEntries) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(key, { identity, until });
  }

  return {
    async verify(token: string): Promise<Identity> {
      if (token === '') throw refuse('malformed', 'The access token is empty.');
      const key = hash('sha256', token, 'base64url');
      const cached = cache.get(key);
      let identity: Identity;
      if (cached !== undefined && cached.until > Date.now()) {
        identity = cached.identity;
      } else {
        if (cached !== undefined) cache.delete(key);
        identity = identityOf(await introspect(token));
        remember(key, identity);
      }
      requireScopes(identity, requiredScopes);
      return identity;
    },
  };
}
