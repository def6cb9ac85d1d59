import { createAdminApi, type EndpointRuntime } from './admin/index.js';
import { adminAuditTrail } from './app-filters.js';
import type { GatehouseConfig } from './config/index.js';
import { GatehouseError } from './core/index.js';
import { GATEWAY_INFO, requestIdentity, type ExtraRoutes, type ReadinessReport } from './frontends/index.js';
import type { GatewayMetrics, Logger } from './observability/index.js';
import type { AuditFilter } from './pipeline/index.js';
import type { HealthSummary, Registry } from './registry/index.js';
import type { CircuitState, Upstream } from './upstreams/index.js';

/* What the running gateway reports about itself: health checks of its servers, readiness, each server's
   runtime state, and the admin API and /metrics routes that serve them. */

/** A running server's state for the admin API; a balanced one (several endpoints or processes) shows each. */
export interface UpstreamRuntime {
  state: string;
  lastError?: string;
  circuit: CircuitState;
  endpoints?: EndpointRuntime[];
}

/** One round of health checks: pings every server and records each sample (latency, or the error) in the registry. */
export function recordHealthChecks(upstreams: ReadonlyMap<string, Upstream>, registry: Registry, timeoutMs: number): Promise<PromiseSettledResult<void>[]> {
  return Promise.allSettled(
    [...upstreams].map(async ([name, upstream]) => {
      let started = performance.now();
      let error: string | null = null;
      try {
        const client = await upstream.sharedClient();
        // The round trip of a ping, not the time a first connection (a process start) took.
        started = performance.now();
        const response = await client.request('ping', undefined, { timeoutMs, idempotent: true });
        if ('error' in response) error = response.error.message;
        // The server answers again: an open circuit lets its next call through as a trial.
        else upstream.recovered(client);
      } catch (failure) {
        error = failure instanceof Error ? failure.message : String(failure);
      }
      // Each endpoint of a server with several (or with a healthPath): feeds the balancer.
      await upstream.checkEndpoints(timeoutMs);
      if (error === null && upstream.endpoints.every((endpoint) => endpoint.unhealthy)) error = upstream.endpoints[0]?.lastError ?? 'every endpoint failed its health check';
      await registry.recordHealth({
        server: name,
        at: new Date().toISOString(),
        ok: error === null,
        latencyMs: error === null ? Math.round((performance.now() - started) * 10) / 10 : null,
        error,
      });
    }),
  );
}

/** Ready when every server is; each with its state, last error and, once checked, latency and uptime. */
export function readinessOf(upstreams: ReadonlyMap<string, Upstream>, healthByServer: ReadonlyMap<string, HealthSummary>): ReadinessReport {
  const servers: ReadinessReport['servers'] = {};
  let ready = true;
  for (const [name, upstream] of upstreams) {
    const health = healthByServer.get(name);
    servers[name] = {
      state: upstream.state,
      ...(upstream.lastError ? { lastError: upstream.lastError } : {}),
      ...(health?.last?.latencyMs != null ? { latencyMs: health.last.latencyMs } : {}),
      ...(health?.uptime != null ? { uptime24h: Number(health.uptime.toFixed(4)) } : {}),
    };
    if (upstream.state !== 'ready') ready = false;
  }
  return { ready, servers };
}

/** A running server's state, with each endpoint's balancer figures (refreshed now) when it has several. */
export function upstreamRuntime(upstream: Upstream): UpstreamRuntime {
  const state = { state: upstream.state, ...(upstream.lastError ? { lastError: upstream.lastError } : {}), circuit: upstream.circuit };
  // A stdio pool's processes are endpoints too; a single process has nothing more to show.
  if (upstream.config.transport === 'stdio' && !upstream.balanced) return state;
  upstream.refreshLoad();
  const endpoints = upstream.endpoints.map((endpoint) => ({
    url: endpoint.label,
    weight: endpoint.weight,
    circuit: endpoint.breaker.state,
    down: endpoint.down,
    healthy: endpoint.healthy,
    ewmaMs: endpoint.ewmaMs === undefined ? null : Math.round(endpoint.ewmaMs * 100) / 100,
    inflight: endpoint.inflight,
    sessions: endpoint.sessions,
    ...(endpoint.lastError !== undefined ? { lastError: endpoint.lastError } : {}),
  }));
  return { ...state, endpoints };
}

/**
 * /metrics on the main listener. With auth.required it needs one of metrics.roles (give Prometheus
 * an API key with role `metrics`: names of servers and tools are not for everyone); without it, it
 * is as open as the listener, which is loopback unless the operator said otherwise.
 */
export function metricsRoutes(metrics: GatewayMetrics | undefined, config: GatehouseConfig): ExtraRoutes[] {
  if (metrics === undefined) return [];
  const path = config.metrics.path;
  return [
    {
      prefix: path,
      ...(config.auth.required ? { requiredRoles: config.metrics.roles } : {}),
      handle: async (request, response, requestPath) => {
        if (requestPath !== path) throw new GatehouseError('not_found');
        if (request.method !== 'GET' && request.method !== 'HEAD') throw new GatehouseError('method_not_allowed');
        const { contentType, body } = await metrics.exposition();
        response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(request.method === 'HEAD' ? undefined : body);
      },
    },
  ];
}

/** What the admin API reads of the running gateway. */
export interface AdminWiring {
  readonly registry: Registry;
  readonly config: GatehouseConfig;
  readonly logger: Logger;
  /** The audit filter (audit.enabled): changes through the API join the calls' trail. */
  readonly audit: AuditFilter | undefined;
  readonly publicUrl: () => string;
  readonly runtime: (name: string) => UpstreamRuntime | undefined;
  readonly health: () => ReadonlyMap<string, HealthSummary>;
  readonly sessionCount: () => number;
  readonly serving: () => { servers: string[]; virtualServers: string[] };
  readonly ready: () => boolean;
}

/** The admin API as routes of a listener, for callers with one of auth.adminRoles. */
export function adminApiRoutes(wiring: AdminWiring): ExtraRoutes {
  const { registry, config, audit } = wiring;
  const started = Date.now();
  const api = createAdminApi({
    registry,
    runtime: wiring.runtime,
    health: wiring.health,
    publicUrl: wiring.publicUrl,
    status: () => ({
      version: GATEWAY_INFO.version,
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      sessions: wiring.sessionCount(),
      store: registry.store.kind,
      ...wiring.serving(),
      ready: wiring.ready(),
    }),
    maxBodyBytes: config.limits.maxBodyBytes,
    logger: wiring.logger,
    actorOf: (request) => {
      const identity = requestIdentity(request);
      return identity.kind === 'anonymous' ? 'local' : `${identity.kind}:${identity.name ?? identity.subject}`;
    },
    identityOf: requestIdentity,
    // Changes through the API join the calls' trail: same redaction, queue and hash chain.
    ...(audit !== undefined ? { audit: adminAuditTrail(audit) } : {}),
  });
  return {
    prefix: api.prefix,
    handle: (...args) => api.handle(...args),
    refused: (...args) => api.refused(...args),
    requiredRoles: config.auth.adminRoles,
  };
}
