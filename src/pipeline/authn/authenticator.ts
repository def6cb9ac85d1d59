import { ANONYMOUS, GatehouseError, withPresentedToken, type Identity } from '../../core/index.js';

export interface AuthenticatorOptions {
  /** Refuse requests that bring no credential. */
  readonly required: boolean;
  /** Tells an API key from a JWT by its prefix; API keys are verified against the registry. */
  readonly isApiKey: (token: string) => boolean;
  /** Verifies an API key (undefined when API keys are turned off). */
  readonly verifyApiKey?: ((token: string) => Promise<Identity>) | undefined;
  /** Verifies a JWT access token for a resource (undefined when no issuer is configured). */
  readonly verifyJwt?: ((token: string, resource: string) => Promise<Identity>) | undefined;
}

export type Authenticate = (authorization: string | undefined, resource: string) => Identity | Promise<Identity>;

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * Turns an Authorization header into an Identity. No header: anonymous unless credentials are
 * required. A header that is present is always verified, required or not: a wrong token is a 401,
 * never a silent downgrade to anonymous (a client would otherwise act with less than it believes).
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticate {
  return (authorization, resource) => {
    if (authorization === undefined || authorization === '') {
      if (options.required) throw new GatehouseError('unauthorized');
      return ANONYMOUS;
    }
    // RFC 6750 §2.1: the b64token syntax; anything else is not a bearer credential.
    const token = BEARER.exec(authorization)?.[1];
    if (token === undefined) throw new GatehouseError('unauthorized', 'The Authorization header is not "Bearer <token>".');
    if (options.isApiKey(token)) {
      if (options.verifyApiKey === undefined) throw new GatehouseError('unauthorized', 'API keys are turned off on this gateway.');
      return options.verifyApiKey(token);
    }
    if (options.verifyJwt === undefined) throw new GatehouseError('unauthorized', 'No token issuer is configured on this gateway; use an API key.');
    // Kept beside the identity for RFC 8693 exchange toward servers that act as the user.
    return options.verifyJwt(token, resource).then((identity) => withPresentedToken(identity, token));
  };
}
