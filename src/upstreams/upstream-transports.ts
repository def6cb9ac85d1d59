import type { HttpServerConfig, ServerConfig } from '../config/index.js';
import type { Identity } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import type { UpstreamCredentials } from './client-credentials.js';
import { StreamableHttpTransport } from './http-transport.js';
import { SseTransport } from './sse-transport.js';
import { StdioTransport } from './stdio-transport.js';
import type { UpstreamTransport } from './transport.js';
import type { UpstreamEndpoint } from './upstream-endpoint.js';

/** What a connection's transport is made from, beside the server's config. */
export interface TransportParts {
  /** The session's caller, for servers with `forwardIdentity`; none for the shared connection. */
  readonly identity: Identity | undefined;
  readonly credentials: UpstreamCredentials | undefined;
  readonly endpoint: UpstreamEndpoint;
  /** How long a legacy SSE server may take to open its stream. */
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
}

/** A new transport to one of the server's endpoints: its process (stdio), or its URL. */
export function createUpstreamTransport(config: ServerConfig, parts: TransportParts): UpstreamTransport {
  if (config.transport === 'stdio') return new StdioTransport({ command: config.command, args: config.args, env: config.env, cwd: config.cwd, logger: parts.logger });
  const { identity, credentials, endpoint, logger } = parts;
  // Spec 2025-11-25 §Authorization: no token passthrough. Only the configured headers, and the
  // caller's identity (never its credentials) where the server opted in.
  const headers = config.forwardIdentity && identity !== undefined && identity.kind !== 'anonymous' ? { ...config.headers, ...identityHeaders(identity) } : config.headers;
  const options = { url: endpoint.url!, headers, pool: endpoint.pool!, logger, credentials };
  if (config.transport === 'sse') return new SseTransport({ ...options, connectTimeoutMs: parts.connectTimeoutMs });
  return new StreamableHttpTransport(options);
}

/** The caller's identity as headers: URL-encoded, so no value can break a header line. */
function identityHeaders(identity: Identity): Record<string, string> {
  const headers: Record<string, string> = { 'x-gatehouse-user': encodeURIComponent(identity.subject) };
  if (identity.name !== undefined) headers['x-gatehouse-user-name'] = encodeURIComponent(identity.name);
  if (identity.groups.length > 0) headers['x-gatehouse-groups'] = identity.groups.map(encodeURIComponent).join(',');
  if (identity.team !== undefined) headers['x-gatehouse-team'] = encodeURIComponent(identity.team);
  if (identity.roles.length > 0) headers['x-gatehouse-roles'] = identity.roles.map(encodeURIComponent).join(',');
  return headers;
}

/** An HTTP server's endpoints with their weights: `urls` (a URL, or {url, weight}), else `url`. */
export function httpEndpoints(config: HttpServerConfig): { url: string; weight: number }[] {
  if (config.urls === undefined) return [{ url: config.url!, weight: 1 }];
  return config.urls.map((entry) => (typeof entry === 'string' ? { url: entry, weight: 1 } : entry));
}
