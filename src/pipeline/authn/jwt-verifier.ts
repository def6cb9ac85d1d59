import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify } from 'jose';
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import { GatehouseError } from '../../core/index.js';
import type { Identity } from '../../core/index.js';
import { identityFromClaims } from './claims-to-identity.js';
import type { ClaimPaths } from './claims-to-identity.js';
import { IssuerMetadataError, discoverIssuerMetadata } from './issuer-metadata.js';
import { refuse, requireScopes } from './token-failure.js';
import type { TokenVerifier } from './token-failure.js';

/**
 * One accepted issuer. Structurally the output of the config's `issuerSchema`, so the composition
 * root passes `config.auth.issuers` straight in; the pipeline does not import config (DESIGN.md).
 */
export interface IssuerOptions {
  /** The exact `iss` value (RFC 7519 §4.1.1), compared as a plain string. */
  readonly issuer: string;
  /** Where the signing keys are; discovered from the issuer's metadata when absent. */
  readonly jwksUri?: string | undefined;
  /** Accepted `aud` values; empty means the verifier's `defaultAudiences`. */
  readonly audiences: readonly string[];
  /** Accepted signature algorithms; only asymmetric ones are allowed (see ASYMMETRIC_ALGORITHMS). */
  readonly algorithms: readonly string[];
  /** Seconds of clock skew allowed on `exp`, `nbf` and `iat`. */
  readonly clockToleranceSec: number;
  readonly claims: ClaimPaths;
  /** Scopes every token must carry; a token without them is refused with `insufficient_scope`. */
  readonly requiredScopes: readonly string[];
}

export interface JwtVerifierOptions {
  readonly issuers: readonly IssuerOptions[];
  /** This gateway's own resource identifiers, used for issuers that list no `audiences`. */
  readonly defaultAudiences: readonly string[];
  /** Time limit for one metadata or JWKS fetch. Default 5000 ms (jose's own default). */
  readonly fetchTimeoutMs?: number | undefined;
  /**
   * How long after a JWKS fetch a token with an unknown `kid` may trigger another one. Default
   * 30000 ms (jose's default): a key rotation is picked up within this time, and a flood of forged
   * tokens with random `kid`s costs the identity provider at most one fetch per period.
   */
  readonly jwksCooldownMs?: number | undefined;
  /** How long fetched keys are used before they are fetched again. Default 600000 ms (jose's default). */
  readonly jwksMaxAgeMs?: number | undefined;
}

/** Per-call choices, for a gateway that serves several resources (one per virtual server URL). */
export interface VerifyOptions {
  /**
   * The audiences this call accepts, in place of `defaultAudiences`, for issuers that list no
   * `audiences` of their own (RFC 8707: the resource the client asked a token for is the endpoint
   * it calls). An issuer's own `audiences` always win: they are the operator's explicit choice.
   */
  readonly audiences?: readonly string[] | undefined;
}

export interface JwtVerifier extends TokenVerifier {
  verify(token: string, options?: VerifyOptions): Promise<Identity>;
  /** Whether a token names an issuer this verifier knows (unverified): lets a caller pick a verifier. */
  knowsIssuerOf(token: string): boolean;
}

/**
 * The only algorithms a JWT access token may use. RFC 8725 §3.1-3.2: the verifier, not the token,
 * decides the algorithm. `none` is never acceptable, and symmetric HS* would let anyone holding the
 * issuer's public key (which is public) forge tokens by using it as an HMAC secret, the classic
 * RS/HS confusion attack; a resource server shares no secret with a public issuer anyway.
 */
export const ASYMMETRIC_ALGORITHMS: ReadonlySet<string> = new Set([
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
]);

const DEFAULT_FETCH_TIMEOUT_MS = 5_000;
const DEFAULT_JWKS_COOLDOWN_MS = 30_000;
const DEFAULT_JWKS_MAX_AGE_MS = 600_000;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Whether a bearer credential is shaped like a JWT (RFC 7519 §7.2: three base64url parts, the first
 * a JSON object header). Cheap and unverified: it only tells a JWT from an API key or an opaque
 * token, so the right verifier gets it. An unsigned token (empty third part) still looks like a JWT,
 * so it is refused by the JWT verifier rather than looked up as a key.
 */
export function looksLikeJwt(token: string): boolean {
  if (!COMPACT_JWS.test(token)) return false;
  try {
    decodeProtectedHeader(token);
    return true;
  } catch {
    return false;
  }
}

/** Internal marker: the keys could not be fetched (network, timeout, not a JWKS). */
class KeysUnavailable extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'KeysUnavailable';
  }
}

/** jose's failures mapped to short reasons that name what was wrong and never echo the token. */
function refusalFor(error: unknown, issuer: string): GatehouseError {
  if (error instanceof GatehouseError) return error;
  if (error instanceof KeysUnavailable) return refuse('keys_unavailable', `The signing keys of issuer ${issuer} could not be fetched; try again later.`);
  if (error instanceof errors.JWTExpired) return refuse('expired', 'The access token has expired.');
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case 'nbf':
        return refuse('not_yet_valid', 'The access token is not valid yet (nbf is in the future).');
      case 'iat':
        return refuse('not_yet_valid', 'The access token was issued in the future (iat).');
      case 'aud':
        return refuse('wrong_audience', 'The access token was not issued for this gateway (wrong audience).');
      case 'iss':
        return refuse('wrong_issuer', 'The access token names the wrong issuer.');
      case 'exp':
        return refuse('invalid_claims', error.reason === 'missing' ? 'The access token has no expiry (exp).' : 'The access token has an invalid expiry (exp).');
      default:
        return refuse('invalid_claims', `The access token has an invalid "${error.claim}" claim.`);
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return refuse('algorithm_not_allowed', 'The access token is signed with an algorithm that is not allowed.');
  if (error instanceof errors.JWSSignatureVerificationFailed) return refuse('bad_signature', 'The access token has a bad signature.');
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return refuse('unknown_key', `The access token is signed with a key issuer ${issuer} does not publish.`);
  }
  if (error instanceof errors.JOSENotSupported) return refuse('algorithm_not_allowed', 'The access token uses an unsupported algorithm or key type.');
  if (error instanceof errors.JOSEError) return refuse('malformed', 'The access token is malformed.');
  return refuse('malformed', 'The access token could not be verified.');
}

/** What the verifier keeps per issuer: the options it was given and the keys, fetched lazily. */
interface IssuerState {
  readonly options: IssuerOptions;
  /** The issuer's own `audiences`, or undefined when it uses the defaults. */
  readonly audiences: readonly string[] | undefined;
  readonly algorithms: string[];
  /** Resolved once (discovery, then jose's cached remote JWKS); dropped on failure so the next call retries. */
  keys: Promise<JWTVerifyGetKey> | undefined;
}

/**
 * Verifies JWT access tokens as an OAuth 2.1 resource server (MCP authorization spec 2025-11-25,
 * §Token Handling; RFC 9068 for the JWT access token profile).
 *
 * Per token: the unverified `iss` picks the issuer (unknown issuers are refused before any network
 * I/O), then jose verifies signature, algorithm, issuer, audience and time claims together. The
 * issuer's keys come from jose's `createRemoteJWKSet`, created once per issuer: it caches the key set
 * (`jwksMaxAgeMs`), and a token whose `kid` is not in the cache makes it fetch again once the
 * cooldown (`jwksCooldownMs`) since the last fetch has passed, which is how key rotation is followed.
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const fetchTimeoutMs = options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const jwksOptions = {
    timeoutDuration: fetchTimeoutMs,
    cooldownDuration: options.jwksCooldownMs ?? DEFAULT_JWKS_COOLDOWN_MS,
    cacheMaxAge: options.jwksMaxAgeMs ?? DEFAULT_JWKS_MAX_AGE_MS,
  };
  const issuers = new Map<string, IssuerState>();
  for (const issuer of options.issuers) {
    if (issuers.has(issuer.issuer)) throw new GatehouseError('config_invalid', `Issuer ${issuer.issuer} is listed twice.`);
    const denied = issuer.algorithms.filter((alg) => !ASYMMETRIC_ALGORITHMS.has(alg));
    if (issuer.algorithms.length === 0) throw new GatehouseError('config_invalid', `Issuer ${issuer.issuer}: no signature algorithm is allowed.`);
    if (denied.length > 0) {
      throw new GatehouseError('config_invalid', `Issuer ${issuer.issuer}: algorithms must be asymmetric signature algorithms, not ${denied.join(', ')}.`);
    }
    const audiences = issuer.audiences.length > 0 ? issuer.audiences : options.defaultAudiences;
    // MCP authorization 2025-11-25 §Token Handling and RFC 8707 §2: a resource server MUST check
    // that a token was issued for it. Without an audience any token of the issuer would pass,
    // including ones meant for other APIs (the confused-deputy / token-passthrough problem).
    if (audiences.length === 0) throw new GatehouseError('config_invalid', `Issuer ${issuer.issuer}: no audience to check tokens against.`);
    issuers.set(issuer.issuer, {
      options: issuer,
      audiences: issuer.audiences.length > 0 ? [...issuer.audiences] : undefined,
      algorithms: [...issuer.algorithms],
      keys: undefined,
    });
  }

  function keysOf(state: IssuerState): Promise<JWTVerifyGetKey> {
    if (state.keys !== undefined) return state.keys;
    const pending = (async (): Promise<JWTVerifyGetKey> => {
      const jwksUri = state.options.jwksUri ?? (await discoverIssuerMetadata(state.options.issuer, fetchTimeoutMs)).jwksUri;
      const remote = createRemoteJWKSet(new URL(jwksUri), jwksOptions);
      return async (header, token) => {
        try {
          return await remote(header, token);
        } catch (error) {
          if (error instanceof errors.JOSEError && !(error instanceof errors.JWKSTimeout) && error.code !== 'ERR_JOSE_GENERIC' && error.code !== 'ERR_JWKS_INVALID') throw error;
          // A timeout, a non-200 answer, a body that is not a key set, or a network error.
          throw new KeysUnavailable(error instanceof Error ? error.message : String(error));
        }
      };
    })();
    state.keys = pending;
    // A failed discovery is not cached: the identity provider may be back on the next call.
    pending.catch(() => {
      if (state.keys === pending) state.keys = undefined;
    });
    return pending;
  }

  function issuerOf(token: string): string | undefined {
    try {
      const { iss } = decodeJwt(token);
      return typeof iss === 'string' ? iss : undefined;
    } catch {
      return undefined;
    }
  }

  async function verify(token: string, verifyOptions: VerifyOptions = {}): Promise<Identity> {
    if (!looksLikeJwt(token)) throw refuse('malformed', 'The access token is not a JWT.');
    const iss = issuerOf(token);
    if (iss === undefined) throw refuse('malformed', 'The access token has no issuer (iss).');
    const state = issuers.get(iss);
    if (state === undefined) throw refuse('unknown_issuer', 'The access token comes from an issuer this gateway does not accept.');
    const audiences = state.audiences ?? verifyOptions.audiences ?? options.defaultAudiences;
    // Same rule as at construction: never verify without an audience to check.
    if (audiences.length === 0) throw refuse('wrong_audience', 'The gateway has no audience to check the access token against.');

    let payload: JWTPayload;
    try {
      let keys: JWTVerifyGetKey;
      try {
        keys = await keysOf(state);
      } catch (error) {
        if (error instanceof IssuerMetadataError && error.failure === 'issuer_mismatch') {
          throw refuse('keys_unavailable', `The metadata of issuer ${iss} names another issuer; the gateway cannot trust its keys.`);
        }
        throw new KeysUnavailable(error instanceof Error ? error.message : String(error));
      }
      ({ payload } = await jwtVerify(token, keys, {
        issuer: state.options.issuer,
        audience: [...audiences],
        algorithms: state.algorithms,
        clockTolerance: state.options.clockToleranceSec,
        // RFC 9068 §2.2 makes `exp` REQUIRED: a token without it would be valid forever.
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw refusalFor(error, iss);
    }

    const identity = identityFromClaims(payload, state.options.claims, iss);
    if (identity === undefined) throw refuse('no_subject', `The access token has no "${state.options.claims.user}" claim to name the user.`);
    requireScopes(identity, state.options.requiredScopes);
    return identity;
  }

  return {
    verify,
    knowsIssuerOf: (token) => {
      const iss = issuerOf(token);
      return iss !== undefined && issuers.has(iss);
    },
  };
}
