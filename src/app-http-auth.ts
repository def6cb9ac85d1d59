import type { GatehouseConfig } from './config/index.js';
import type { HttpAuth } from './frontends/index.js';
import { createAuthenticator, createJwtVerifier, type JwtVerifier } from './pipeline/index.js';
import { isApiKeyToken, type Registry } from './registry/index.js';

export interface HttpAuthWiring {
  readonly config: GatehouseConfig;
  readonly registry: Registry;
  /** The URL the gateway listens on (known once listening). */
  readonly listenUrl: () => string;
  /** Whether `/servers/<name>/mcp` is an endpoint (a server or virtual server being served). */
  readonly isEndpoint: (name: string) => boolean;
  /** Counts a refused request by reason (metrics). */
  readonly failed: (reason: string) => void;
}

/**
 * Authentication at the HTTP edge: API keys from the registry and JWTs from the configured issuers.
 * The gateway's resource identifier is auth.resource, else the URL it listens on.
 */
export function createHttpAuth(wiring: HttpAuthWiring): HttpAuth {
  const { auth } = wiring.config;
  const base = (): string => (auth.resource ?? wiring.listenUrl()).replace(/\/+$/, '');
  let verifier: JwtVerifier | undefined;
  const jwt = (): JwtVerifier => (verifier ??= createJwtVerifier({ issuers: auth.issuers, defaultAudiences: [base(), `${base()}/mcp`] }));
  const authenticate = createAuthenticator({
    required: auth.required,
    isApiKey: isApiKeyToken,
    verifyApiKey: auth.apiKeys ? (token) => wiring.registry.verifyApiKey(token) : undefined,
    // RFC 8707: a token is for one resource, the endpoint it is used at, or for the whole gateway.
    verifyJwt: auth.issuers.length > 0 ? (token, resource) => jwt().verify(token, { audiences: [resource, base()] }) : undefined,
  });
  const scopes = [...new Set(auth.issuers.flatMap((issuer) => issuer.requiredScopes))];
  return {
    required: auth.required,
    authenticate,
    failed: wiring.failed,
    // The admin API is part of the gateway's own resource; each MCP endpoint is a resource of its own.
    resourceOf: (path) => (path.startsWith('/admin/') || path === '/' ? base() : `${base()}${path}`),
    resourceMetadata: (resource) => {
      const path = resource.slice(base().length);
      const endpoint = /^\/servers\/([^/]+)\/mcp$/.exec(path)?.[1];
      if (path !== '' && path !== '/mcp' && (endpoint === undefined || !wiring.isEndpoint(decodeURIComponent(endpoint)))) return undefined;
      // RFC 9728 §2.
      return {
        resource,
        authorization_servers: auth.issuers.map((issuer) => issuer.issuer),
        bearer_methods_supported: ['header'],
        ...(scopes.length > 0 ? { scopes_supported: scopes } : {}),
        resource_name: endpoint === undefined ? 'Gatehouse MCP gateway' : `Gatehouse: ${decodeURIComponent(endpoint)}`,
      };
    },
  };
}
