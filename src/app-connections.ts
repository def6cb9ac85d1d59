import { connectionApiRoutes, connectionBrowserRoutes } from './admin/index.js';
import type { GatehouseConfig } from './config/index.js';
import { requestIdentity, type ExtraRoutes } from './frontends/index.js';
import type { Logger } from './observability/index.js';
import type { Params } from './protocol/index.js';
import { primaryUrlOf, UserConnections, type Registry, type SealedBox, type ServerSpec } from './registry/index.js';
import type { ClientSession } from './session/index.js';
import { TokenExchange, type UserTokenSource } from './upstreams/index.js';

/** What acting as the user toward upstreams needs of the running gateway. */
export interface ConnectionWiring {
  readonly registry: Registry;
  readonly config: GatehouseConfig;
  readonly logger: Logger;
  readonly sessions: () => Iterable<ClientSession>;
  /** The gateway's public base URL: auth.resource, else the URL it listens on. */
  readonly publicUrl: () => string;
}

/** Servers users connect to with OAuth (`userAuth.mode: oauth`), as the registry holds them now. */
function oauthServers(registry: Registry): [string, ServerSpec][] {
  return [...registry.effective().servers].filter(([, spec]) => spec.transport !== 'stdio' && spec.userAuth?.mode === 'oauth');
}

/** Per-user OAuth connections, sealed with `box`. */
export function createUserConnections(wiring: ConnectionWiring, box: SealedBox): UserConnections {
  const { registry, config, logger } = wiring;
  return new UserConnections({
    store: registry.store,
    box,
    serverOf: (name) => {
      const spec = registry.effective().servers.get(name);
      return spec !== undefined && spec.transport !== 'stdio' && spec.userAuth?.mode === 'oauth' ? { url: primaryUrlOf(spec), userAuth: spec.userAuth } : undefined;
    },
    publicUrl: wiring.publicUrl,
    flowTtlMs: config.connections.flowTimeoutMs,
    timeoutMs: config.upstreamDefaults.initializeTimeoutMs,
    warn: (message, detail) => logger.warn(detail, message),
    // MCP 2025-11-25 §Elicitation, URL mode: tell the user's sessions here that the connection is made.
    onConnected: (_server, subject, elicitationId) => {
      for (const session of wiring.sessions()) {
        if (session.identity.subject !== subject || (session.clientCapabilities.elicitation as Params | undefined)?.url === undefined) continue;
        session.send({ jsonrpc: '2.0', method: 'notifications/elicitation/complete', params: { elicitationId } });
      }
    },
  });
}

/** Where a server that acts as the user gets the user's token: token exchange, or the user's connection. */
export function userTokenSource(wiring: ConnectionWiring, connections: UserConnections, name: string, spec: ServerSpec): UserTokenSource | undefined {
  if (spec.transport === 'stdio' || spec.userAuth === undefined) return undefined;
  const userAuth = spec.userAuth;
  if (userAuth.mode === 'oauth') return { token: (identity, fresh) => connections.token(name, identity, fresh) };
  return new TokenExchange({
    server: name,
    tokenUrl: userAuth.tokenUrl,
    clientId: userAuth.clientId,
    clientSecret: userAuth.clientSecret,
    audience: userAuth.audience,
    resource: userAuth.resource ?? primaryUrlOf(spec),
    scope: userAuth.scope,
    timeoutMs: wiring.config.upstreamDefaults.initializeTimeoutMs,
    logger: wiring.logger.child({ server: name }),
  });
}

/** The caller's connections (API, authenticated) and the browser's pages of a connection flow (public). */
export function connectionRoutes(wiring: ConnectionWiring, connections: UserConnections): ExtraRoutes[] {
  const deps = {
    connections,
    oauthServers: () => oauthServers(wiring.registry).map(([name]) => name),
    identityOf: requestIdentity,
    publicUrl: wiring.publicUrl,
    flowTimeoutMs: wiring.config.connections.flowTimeoutMs,
  };
  return [connectionApiRoutes(deps), { ...connectionBrowserRoutes(deps), public: true }];
}
