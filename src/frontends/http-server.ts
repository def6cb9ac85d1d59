import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ANONYMOUS, GatehouseError, type Identity } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import type { SessionStore, SessionView } from '../session/index.js';
import { checkOrigin, type OriginPolicy } from './http-guard.js';
import { LegacySseFrontend } from './legacy-sse.js';
import type { MessageHandler, RelayHooks } from './message-handler.js';
import { ModernHttpFrontend } from './modern-http.js';
import { setRequestIdentity } from './request-identity.js';
import { StreamableHttpFrontend, writeHttpError } from './streamable-http.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  origin: OriginPolicy;
  maxBodyBytes: number;
  maxDepth: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  keepAliveIntervalMs: number;
  idleTimeoutMs: number;
  eventStoreSize: number;
}

/**
 * Routes served beside MCP on the same listener (the admin API): given every request whose path
 * starts with `prefix`, after the Origin/Host check, so a web page cannot drive them from a browser.
 */
export interface ExtraRoutes {
  readonly prefix: string;
  /** Once a caller is authenticated, it needs one of these roles here (the admin API's admin roles). */
  readonly requiredRoles?: readonly string[];
  /**
   * Served without authentication: pages a browser reaches with no token (the OAuth redirect back
   * from a provider), whose requests carry their own proof (a single-use state and a cookie).
   */
  readonly public?: boolean;
  handle(request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams): Promise<void>;
  /**
   * Told of a request refused here before `handle` (Origin, credentials, roles), with
   * performance.now() at its arrival: the admin API records refused changes in the audit trail.
   */
  refused?(request: IncomingMessage, path: string, error: unknown, startedAt: number): Promise<void>;
}

/**
 * Authentication at the HTTP edge (MCP authorization spec 2025-11-25: the gateway is an OAuth 2.1
 * resource server). Every request to an MCP or admin route is authenticated; sessions are not.
 */
export interface HttpAuth {
  /** Whether a request without credentials is refused; when not, such a request costs nothing here. */
  readonly required: boolean;
  /** The caller behind an Authorization header; throws `unauthorized` or `insufficient_scope`. */
  authenticate(authorization: string | undefined, resource: string): Identity | Promise<Identity>;
  /** The protected resource identifier of a path, e.g. https://gw.example.com/mcp. */
  resourceOf(path: string): string;
  /** RFC 9728 metadata for a resource, or undefined when the path is not a protected resource. */
  resourceMetadata(resource: string): Record<string, unknown> | undefined;
  /** Told of every request refused for its credentials or roles (metrics), with a bounded reason. */
  failed?(reason: string): void;
}

/** What /readyz reports. */
export interface ReadinessReport {
  ready: boolean;
  servers: Record<string, { state: string; lastError?: string; latencyMs?: number; uptime24h?: number }>;
}

const CORS_ALLOW_HEADERS = ['content-type', 'accept', 'authorization', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id'];

/**
 * The headers a preflight may announce: the fixed ones, plus the 2026-07-28 `Mcp-Method`, `Mcp-Name`
 * and `Mcp-Param-<name>` ones, whose names vary by tool, so the announced ones are echoed when valid.
 */
function allowedRequestHeaders(requested: string | undefined): string {
  const allowed = new Set(CORS_ALLOW_HEADERS);
  for (const name of (requested ?? '').split(',')) {
    const header = name.trim().toLowerCase();
    if (/^mcp-[a-z0-9-]{1,100}$/.test(header)) allowed.add(header);
  }
  return [...allowed].join(', ');
}

/**
 * The HTTP edge: one node:http server (no framework: this is the hot path) serving Streamable HTTP at
 * /mcp and /servers/<name>/mcp, legacy SSE at /sse + /messages, and /healthz, /readyz.
 */
export class GatewayHttpServer {
  private readonly server: Server;
  private readonly streamable: StreamableHttpFrontend;
  private readonly legacy: LegacySseFrontend;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;

  constructor(
    private readonly handler: MessageHandler,
    relay: RelayHooks,
    sessions: SessionStore,
    private readonly viewOf: (name: string | undefined) => SessionView | undefined,
    private readonly readiness: () => ReadinessReport,
    private readonly options: HttpServerOptions,
    private readonly logger: Logger,
    private readonly extraRoutes: readonly ExtraRoutes[] = [],
    private readonly auth?: HttpAuth,
  ) {
    this.streamable = new StreamableHttpFrontend(handler, sessions, options, logger, new ModernHttpFrontend(handler, relay, sessions, logger));
    this.legacy = new LegacySseFrontend(handler, options);
    this.server = createServer(
      {
        requestTimeout: options.requestTimeoutMs,
        headersTimeout: options.headersTimeoutMs,
        keepAliveTimeout: options.keepAliveTimeoutMs,
        // Node checks those timeouts only every 30 s by default: a slow client would hold a socket that long.
        connectionsCheckingInterval: Math.max(100, Math.min(options.headersTimeoutMs, options.requestTimeoutMs) / 4),
      },
      (request, response) => {
      this.serve(request, response).catch((error: unknown) => {
        if (!(error instanceof GatehouseError)) this.logger.error({ err: error, url: request.url }, 'unexpected failure');
        else reportAuthFailure(this.auth, request, error);
        writeHttpError(response, error);
      });
      },
    );
    // Slowloris: a client that trickles headers or a body is cut off by the timeouts above.
    this.server.maxHeadersCount = 100;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.timer = setInterval(() => this.streamable.tick(Date.now()), this.options.keepAliveIntervalMs);
    this.timer.unref();
    const address = this.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  private async serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = request.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      const report = this.readiness();
      response.writeHead(report.ready && !this.closing ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(report));
      return;
    }
    if (path.startsWith(PRM_PREFIX)) return this.serveResourceMetadata(request, response, path.slice(PRM_PREFIX.length) || '/');
    if (this.auth !== undefined && queryAt !== -1 && /[?&]access_token=/.test(url)) {
      // Spec 2025-11-25 §Authorization, token requirements: access tokens MUST NOT be in the URI query string.
      throw new GatehouseError('token_in_query');
    }
    for (const extra of this.extraRoutes) {
      if (!path.startsWith(extra.prefix)) continue;
      // Public pages check their own origin (they are meant to be opened from another site's redirect).
      if (extra.public !== true) await admitToExtraRoutes(extra, this.auth, this.options.origin, request, response, path);
      return extra.handle(request, response, path, new URLSearchParams(queryAt === -1 ? '' : url.slice(queryAt + 1)));
    }
    const route = parseRoute(path);
    const view = route && this.viewOf(route.server);
    if (!route || !view) throw new GatehouseError('not_found');
    checkOrigin(request, this.options.origin);
    if (this.auth !== undefined && request.method !== 'OPTIONS') {
      let identity = authenticateRequest(this.auth, request, response, path);
      if (identity instanceof Promise) identity = await identity;
      // A key limited to some servers or virtual servers reaches their own endpoints only, not /mcp.
      const endpoints = identity.endpoints;
      if (endpoints !== undefined && (route.server === undefined || !endpoints.includes(route.server))) {
        throw new GatehouseError('forbidden', `This credential may reach only /servers/<name>/mcp for: ${endpoints.join(', ') || 'nothing'}.`);
      }
    }
    const origin = request.headers.origin;
    if (origin !== undefined) {
      response.setHeader('access-control-allow-origin', origin);
      response.setHeader('access-control-expose-headers', 'mcp-session-id, mcp-protocol-version');
      response.setHeader('vary', 'origin');
    }
    if (request.method === 'OPTIONS') {
      response
        .writeHead(204, {
          'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
          'access-control-allow-headers': allowedRequestHeaders(request.headers['access-control-request-headers']),
        })
        .end();
      return;
    }
    if (this.closing && request.method === 'POST') throw new GatehouseError('shutting_down');
    switch (route.endpoint) {
      case 'mcp':
        return this.streamable.handle(request, response, view);
      case 'sse':
        return this.legacy.open(request, response, view, route.server === undefined ? '/messages' : `/servers/${route.server}/messages`);
      case 'messages':
        return this.legacy.post(request, response, view, new URLSearchParams(queryAt === -1 ? '' : url.slice(queryAt + 1)));
    }
  }

  private serveResourceMetadata(request: IncomingMessage, response: ServerResponse, resourcePath: string): void {
    if (request.method !== 'GET' && request.method !== 'HEAD') throw new GatehouseError('method_not_allowed');
    const document = this.auth?.resourceMetadata(this.auth.resourceOf(resourcePath));
    if (document === undefined) throw new GatehouseError('not_found');
    // RFC 9728 metadata is public and meant for browser-based clients too.
    response.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' }).end(JSON.stringify(document));
  }

  /** Stops accepting, lets in-flight calls finish within `drainMs`, then ends every session. */
  async close(drainMs: number): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.timer);
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([this.handler.whenDrained(), new Promise<void>((resolve) => (deadline = setTimeout(resolve, drainMs)))]);
    clearTimeout(deadline);
    this.streamable.closeAll();
    this.legacy.closeAll();
    this.server.closeAllConnections();
    await stopped;
  }
}

/**
 * Establishes who is calling and keeps it beside the request. A failure answers 401 (or 403 for a
 * missing scope) with the `WWW-Authenticate` challenge that points the client at the protected
 * resource metadata (RFC 9728 §5.1), from where it finds the authorization server.
 */
function authenticateRequest(auth: HttpAuth | undefined, request: IncomingMessage, response: ServerResponse, path: string): Identity | Promise<Identity> {
  if (auth === undefined) return ANONYMOUS;
  // The hot path of a local gateway: no credential, none required.
  if (request.headers.authorization === undefined && !auth.required) return ANONYMOUS;
  const resource = auth.resourceOf(path);
  const challenge = (error: unknown): never => {
    if (error instanceof GatehouseError && (error.code === 'unauthorized' || error.code === 'insufficient_scope')) {
      response.setHeader('www-authenticate', bearerChallenge(error, request.headers.authorization !== undefined, metadataUrl(resource)));
    }
    throw error;
  };
  try {
    const identity = auth.authenticate(request.headers.authorization, resource);
    // No credentials where none are required is answered without a promise: the hot path of a local gateway.
    if (!(identity instanceof Promise)) {
      if (identity.kind !== 'anonymous') setRequestIdentity(request, identity);
      return identity;
    }
    return identity.then((verified) => {
      setRequestIdentity(request, verified);
      return verified;
    }, challenge);
  } catch (error) {
    return challenge(error);
  }
}


/**
 * Tells `auth.failed` why a request was refused at the edge: no credential, a token failure
 * (`data.failure`, a closed set), any other invalid credential, a missing scope or role, a token in the URL.
 */
function reportAuthFailure(auth: HttpAuth | undefined, request: IncomingMessage, error: GatehouseError): void {
  if (auth?.failed === undefined) return;
  switch (error.code) {
    case 'unauthorized': {
      const failure = error.data?.failure;
      auth.failed(request.headers.authorization === undefined ? 'missing_credentials' : typeof failure === 'string' ? failure : 'invalid_credentials');
      return;
    }
    case 'insufficient_scope':
    case 'forbidden':
    case 'token_in_query':
      auth.failed(error.code);
  }
}

/** Origin, credentials and roles of a request to extra routes; a refusal is told to the routes before it is answered. */
async function admitToExtraRoutes(
  extra: ExtraRoutes,
  auth: HttpAuth | undefined,
  origin: OriginPolicy,
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
): Promise<void> {
  const startedAt = performance.now();
  try {
    checkOrigin(request, origin);
    checkRoles(extra, await authenticateRequest(auth, request, response, path));
  } catch (error) {
    await extra.refused?.(request, path, error, startedAt);
    throw error;
  }
}

/** Authenticated callers of extra routes need one of their roles; anonymous ones got here only where none is required. */
function checkRoles(routes: ExtraRoutes, identity: Identity): void {
  const roles = routes.requiredRoles;
  if (identity.kind === 'anonymous' || roles === undefined || identity.roles.some((role) => roles.includes(role))) return;
  throw new GatehouseError('forbidden', `This needs one of the roles: ${roles.join(', ')}.`);
}

const PRM_PREFIX = '/.well-known/oauth-protected-resource';

/** RFC 9728 §3.1: the metadata URL inserts the well-known segment between the host and the resource's path. */
function metadataUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${url.origin}${PRM_PREFIX}${path}`;
}

/** RFC 6750 §3: no error code when no credentials came; `invalid_token` or `insufficient_scope` otherwise. */
function bearerChallenge(error: GatehouseError, presented: boolean, metadata: string): string {
  const parts = [`resource_metadata="${metadata}"`];
  if (error.code === 'insufficient_scope') {
    parts.unshift('error="insufficient_scope"');
    const scopes = error.data?.requiredScopes;
    if (Array.isArray(scopes)) parts.push(`scope="${scopes.join(' ')}"`);
  } else if (presented) {
    parts.unshift('error="invalid_token"', `error_description="${error.message.replace(/["\\]/g, "'").slice(0, 200)}"`);
  }
  return `Bearer ${parts.join(', ')}`;
}

type Endpoint = 'mcp' | 'sse' | 'messages';

function parseRoute(path: string): { server: string | undefined; endpoint: Endpoint } | undefined {
  if (path === '/mcp') return { server: undefined, endpoint: 'mcp' };
  if (path === '/sse') return { server: undefined, endpoint: 'sse' };
  if (path === '/messages') return { server: undefined, endpoint: 'messages' };
  if (!path.startsWith('/servers/')) return undefined;
  const rest = path.slice('/servers/'.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const endpoint = rest.slice(slash + 1);
  if (endpoint !== 'mcp' && endpoint !== 'sse' && endpoint !== 'messages') return undefined;
  try {
    return { server: decodeURIComponent(rest.slice(0, slash)), endpoint };
  } catch {
    return undefined; // malformed percent-encoding
  }
}

/** A listener for extra routes alone (the admin API, and the metrics, on their own port); closes with the returned function. */
export async function listenExtraRoutes(
  routes: ExtraRoutes | readonly ExtraRoutes[],
  options: { host: string; port: number; origin: OriginPolicy; headersTimeoutMs: number; requestTimeoutMs: number },
  logger: Logger,
  auth?: HttpAuth,
): Promise<{ url: string; close(): Promise<void> }> {
  const all = ([] as readonly ExtraRoutes[]).concat(routes);
  const server = createServer({ requestTimeout: options.requestTimeoutMs, headersTimeout: options.headersTimeoutMs }, (request, response) => {
    const url = request.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    Promise.resolve()
      .then(async () => {
        const extra = all.find((candidate) => path.startsWith(candidate.prefix));
        if (extra === undefined) throw new GatehouseError('not_found');
        await admitToExtraRoutes(extra, auth, options.origin, request, response, path);
        return extra.handle(request, response, path, new URLSearchParams(queryAt === -1 ? '' : url.slice(queryAt + 1)));
      })
      .catch((error: unknown) => {
        if (!(error instanceof GatehouseError)) logger.error({ err: error, url: request.url }, 'unexpected failure');
        else reportAuthFailure(auth, request, error);
        writeHttpError(response, error);
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
