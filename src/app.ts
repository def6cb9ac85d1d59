import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { loadConfigFile, type GatehouseConfig } from './config/index.js';
import { GatehouseError, ResourceStack, toGatehouseError, type Identity } from './core/index.js';
import { auditFilter, cacheFilter, limitFilter } from './app-filters.js';
import { LIST_CHANGED, catalogViews, declarations, narrowedView, recordLearnt, restartOnlySettings, sameSpec, viewChanged, type CatalogChange } from './app-catalog.js';
import { openRegistry, openSealedBox, type StoreLocation } from './app-stores.js';
import { connectionRoutes, createUserConnections, userTokenSource, type ConnectionWiring } from './app-connections.js';
import { createHttpAuth } from './app-http-auth.js';
import { adminApiRoutes, metricsRoutes, readinessOf, recordHealthChecks, upstreamRuntime, type UpstreamRuntime } from './app-status.js';
import {
  GATEWAY_INFO,
  GatewayHttpServer,
  MessageHandler,
  isLoopbackAddress,
  listenExtraRoutes,
  serveStdio,
  type ReadinessReport,
} from './frontends/index.js';
import { GatewayMetrics, Tracing, createLogger, openJsonLinesSink, openOtlpLogSink, type Logger, type TracingOptions } from './observability/index.js';
import {
  AuditFilter,
  MetricsFilter,
  Policies,
  compileChain,
  type CacheFilter,
  type CacheStore,
  type CallContext,
  type Filter,
} from './pipeline/index.js';
import type { ListKind, Params, RequestOutcome } from './protocol/index.js';
import { Registry, SealedBox, UserConnections, type HealthSummary, type VirtualServerSpec } from './registry/index.js';
import { AGGREGATE_VIEW_NAME, LIST_KINDS, Router, serverView, type View } from './router/index.js';
import { MemorySessionStore } from './session/index.js';
import { Upstream } from './upstreams/index.js';

export interface GatewayOptions extends StoreLocation {
  /** Where logs go: stdout (1) for `serve`, stderr (2) for `stdio`, whose stdout is the protocol. */
  logDestination?: 1 | 2;
  logger?: Logger;
  /** The file the config came from (also watched for edits when `registry.watchConfig` is on). */
  configFile?: string;
}

export { openRegistry, openSealedBox } from './app-stores.js';
export type { CatalogChange } from './app-catalog.js';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The composition root (DESIGN: the only place that knows every part): builds upstreams, the router,
 * the pipeline and the frontends from the registry, re-applies the registry when it changes (admin
 * API, config file edits, another replica), and shuts everything down in reverse order.
 */
export class Gateway {
  readonly logger: Logger;
  readonly router: Router;
  readonly handler: MessageHandler;
  private upstreams = new Map<string, Upstream>();
  private views = new Map<string, View>();
  private readonly sessions = new MemorySessionStore();
  private readonly resources = new ResourceStack();
  /** The audit filter (audit.enabled); its writer's queue depth and drop count are for metrics. */
  readonly audit: AuditFilter | undefined;
  /** Prometheus metrics (metrics.enabled), served at metrics.path. */
  readonly metrics: GatewayMetrics | undefined;
  private http: GatewayHttpServer | undefined;
  private watcher: FSWatcher | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private lastPrune = 0;
  private healthByServer = new Map<string, HealthSummary>();
  private readonly learning = new Map<string, { timer: NodeJS.Timeout; lists: Partial<Record<ListKind, Params[]>> }>();
  private config: GatehouseConfig;
  private policies: Policies;
  /** The policy specs behind `policies`, to see when the registry changed them. */
  private policiesJson: string;
  /** Endpoint views narrowed by policies, per endpoint view and set of applicable policies. */
  private narrowed = new WeakMap<View, Map<string, View>>();
  /** The virtual-server specs behind the current views, to see which views a change touched. */
  private virtualSpecs = new Map<string, VirtualServerSpec>();

  private constructor(
    config: GatehouseConfig,
    readonly registry: Registry,
    logger: Logger,
    box: SealedBox,
    tracing: Tracing | undefined,
  ) {
    this.config = config;
    this.logger = logger;
    // Closed last of all (deferred first): spans of calls that end during shutdown are still sent.
    if (tracing !== undefined) this.resources.defer(() => tracing.close());
    this.connections = createUserConnections(this.wiring, box);
    this.router = new Router({
      separator: config.separator,
      pageSize: config.sessions.pageSize,
      listTimeoutMs: config.upstreamDefaults.listTimeoutMs,
      logger: this.logger,
      sessions: () => this.sessions.values(),
      onServerListed: (server, kind, items) => this.learn(server, kind, items),
    });
    // The pipeline's filters, outermost first; with none configured the chain is the router itself,
    // at no cost per call. (Authentication runs at the HTTP edge and authorization narrows views.)
    const filters: Filter<CallContext, RequestOutcome>[] = [];
    // Audit is the outermost filter, so that it records what every filter inside it refuses.
    this.audit = config.audit.enabled ? auditFilter(config, registry, this.logger) : undefined;
    if (this.audit !== undefined) filters.push(this.audit);
    this.metrics = config.metrics.enabled ? this.createMetrics() : undefined;
    // Metrics sit inside audit and outside limits, so that refusals by limits are counted too.
    if (this.metrics !== undefined) filters.push(new MetricsFilter(this.metrics));
    // Limits innermost of these: the filters around them see (and count) the calls limits refuse.
    // Always in the chain (a check per call while there are no rules): rules made through the admin
    // API, or by another replica, apply from the next call.
    const limits = limitFilter(config.limits, registry, this.logger);
    filters.push(limits);
    // Innermost: a cached answer still counts against limits, and is recorded by audit and metrics.
    this.cache = cacheFilter(config.cache);
    if (this.cache !== undefined) filters.push(this.cache.filter);
    const chain = compileChain<CallContext, RequestOutcome>(filters, (context) => this.router.route(context.session, context.request, context));
    this.policies = new Policies(registry.policies());
    this.policiesJson = JSON.stringify(registry.policies());
    this.handler = new MessageHandler(
      this.sessions,
      chain,
      this.router,
      this.logger,
      (view, identity) => this.viewFor(view as View, identity),
      (session, request) => this.router.targetOf(session, request),
      tracing,
    );
    this.resources.defer(() => registry.store.close());
    // Closed after the listener and the upstreams (in-flight calls have ended), before the store.
    if (this.audit !== undefined) this.resources.defer(() => this.audit?.options.writer.close());
    this.resources.defer(() => limits.close());
    const cacheStore = this.cache?.store;
    if (cacheStore !== undefined) this.resources.defer(() => cacheStore.close());
    this.resources.defer(() => Promise.allSettled([...this.upstreams.values()].map((upstream) => upstream.close())));
    this.resources.defer(() => {
      registry.stopPolling();
      clearTimeout(this.healthTimer);
      this.watcher?.close();
      for (const { timer } of this.learning.values()) clearTimeout(timer);
    });
    this.applyCatalog();
    registry.onChange(() => this.applyCatalog());
  }

  /** Recovers what a killed predecessor left unfinished in the audit trail, then starts writing; opens the sinks. */
  private async startAudit(configFile: string | undefined, stdoutIsProtocol: boolean): Promise<void> {
    if (this.audit === undefined) return;
    const { writer } = this.audit.options;
    // A relative sink path is taken from the config file's folder, like dataDir.
    const base = configFile === undefined ? process.cwd() : dirname(resolve(configFile));
    for (const sink of this.config.audit.sinks) {
      if (sink.type === 'otlp') {
        writer.addSink(await openOtlpLogSink({ ...sink, serviceName: this.config.tracing?.serviceName ?? 'gatehouse', serviceVersion: GATEWAY_INFO.version, warn: (message, detail) => this.logger.warn(detail, message) }));
        continue;
      }
      const toStdout = sink.path === '-' || sink.path === 'stdout';
      if (toStdout && stdoutIsProtocol) throw new GatehouseError('config_invalid', 'audit.sinks: stdout carries the protocol under `gatehouse stdio`; write the sink to a file.');
      writer.addSink(await openJsonLinesSink(toStdout ? '-' : resolve(base, sink.path)));
    }
    await writer.start();
  }

  /** Opens the store, seeds the registry from the config and builds everything it declares. */
  static async create(config: GatehouseConfig, options: GatewayOptions = {}): Promise<Gateway> {
    const logger = options.logger ?? createLogger({ level: config.log.level, destination: options.logDestination ?? 1 });
    const registry = await openRegistry(config, { ...options, onWarning: (message, detail) => logger.warn(detail, message) });
    await registry.seed(declarations(config));
    const box = await openSealedBox(config, options, (message) => logger.warn(message)).catch(async (error: unknown) => {
      await registry.store.close();
      throw error;
    });
    const tracing =
      config.tracing === undefined
        ? undefined
        : await Tracing.open(tracingOptions(config.tracing, logger)).catch(async (error: unknown) => {
            await registry.store.close();
            throw error;
          });
    const gateway = new Gateway(config, registry, logger, box, tracing);
    await gateway.startAudit(options.configFile, options.logDestination === 2).catch(async (error: unknown) => {
      await gateway.close();
      throw error;
    });
    registry.startPolling(config.registry.pollIntervalMs);
    if (options.configFile !== undefined && config.registry.watchConfig) gateway.watchConfig(options.configFile);
    gateway.startHealthChecks();
    return gateway;
  }

  /**
   * An endpoint as one caller may see it: with policies, a view whose lists leave out what the caller
   * may not use (and so whose calls cannot reach it), shared by every caller the same policies apply to.
   */
  viewFor(view: View, identity: Identity): View {
    const decision = this.policies.permitsFor(identity, view.name);
    if (decision === undefined) return view;
    let byKey = this.narrowed.get(view);
    if (byKey === undefined) {
      byKey = new Map();
      this.narrowed.set(view, byKey);
    }
    let narrowed = byKey.get(decision.key);
    if (narrowed === undefined) {
      narrowed = narrowedView(view, decision, this.policies);
      byKey.set(decision.key, narrowed);
    }
    return narrowed;
  }

  view(name: string | undefined): View | undefined {
    return this.views.get(name ?? AGGREGATE_VIEW_NAME);
  }

  /** Names of what is served now, for logs. */
  get serving(): { servers: string[]; virtualServers: string[] } {
    return {
      servers: [...this.upstreams.keys()],
      virtualServers: [...this.views.values()].filter((view) => view.kind === 'virtual').map((view) => view.name),
    };
  }

  /**
   * Makes the running gateway match the registry: starts added servers, retires removed and changed
   * ones once their calls finish, rebuilds the views, and tells the sessions whose endpoint changed
   * (`list_changed`); sessions on untouched endpoints see nothing.
   */
  applyCatalog(): CatalogChange {
    const catalog = this.registry.effective();
    const previous = this.upstreams;
    const next = new Map<string, Upstream>();
    const added: string[] = [];
    const changed: string[] = [];
    for (const [name, spec] of catalog.servers) {
      const running = previous.get(name);
      if (running && sameSpec(running.config, spec)) {
        next.set(name, running);
        continue;
      }
      (running ? changed : added).push(name);
      next.set(name, new Upstream(name, spec, this.router, this.config.upstreamDefaults, this.logger, userTokenSource(this.wiring, this.connections, name, spec)));
    }
    const removed = [...previous.keys()].filter((name) => !catalog.servers.has(name));
    for (const name of [...removed, ...changed]) {
      void previous.get(name)!.retire(this.config.shutdown.drainTimeoutMs);
      this.router.catalog.invalidate(name);
    }
    this.upstreams = next;

    const views = catalogViews(catalog, next.keys());
    const touched = new Set([...added, ...removed, ...changed]);
    const changedViews = [...new Set([...views.keys(), ...this.views.keys()])].filter((name) =>
      viewChanged(this.views.get(name), views.get(name), touched, catalog.virtualServers.get(name), this.virtualSpecs.get(name)),
    );
    this.views = views;
    this.virtualSpecs = new Map(catalog.virtualServers);
    this.router.setUpstreams(next);

    const policiesChanged = this.reloadPolicies();
    // New policies can change what anyone sees: every session is narrowed again and told.
    const affected = new Set(policiesChanged ? [...views.keys()] : changedViews);
    for (const session of [...this.sessions.values()]) {
      const view = views.get(session.view.name);
      // Every session follows its endpoint's current definition; only affected ones are told.
      if (view !== undefined) session.view = this.viewFor(view, session.identity);
      if (!affected.has(session.view.name)) continue;
      if (view === undefined) {
        // The endpoint is gone: its clients get 404 on their next request and may start over elsewhere.
        this.handler.close(session);
        continue;
      }
      if (session.initialized) for (const method of LIST_CHANGED) session.send({ jsonrpc: '2.0', method });
    }
    const change: CatalogChange = { added, removed, changed, views: changedViews };
    if (touched.size > 0 || changedViews.length > 0) this.logger.info(change, 'catalog applied');
    if (added.length > 0 && this.http) this.warmUp(added);
    return change;
  }

  /**
   * Rebuilds the policies when the registry's changed (the file, the admin API, another replica).
   * A set that cannot be compiled is refused with a log line and the running one stays.
   */
  private reloadPolicies(): boolean {
    const specs = this.registry.policies();
    const json = JSON.stringify(specs);
    if (json === this.policiesJson) return false;
    let next: Policies;
    try {
      next = new Policies(specs);
    } catch (error) {
      this.logger.error({ reason: toGatehouseError(error).message }, 'policies not applied: the running ones stay');
      return false;
    }
    this.policies = next;
    this.policiesJson = json;
    this.narrowed = new WeakMap();
    this.router.catalog.clearViews();
    this.logger.info({ policies: specs.length }, 'policies applied');
    return true;
  }

  /** Connects upstreams in the background and fills the list caches, so the first client waits less. */
  warmUp(names: Iterable<string> = this.upstreams.keys()): void {
    for (const name of names) {
      const upstream = this.upstreams.get(name);
      if (!upstream) continue;
      upstream
        .sharedClient()
        .then(() => Promise.allSettled(LIST_KINDS.map((kind) => this.router.catalog.listFor(serverView(name), kind))))
        .catch(() => undefined);
    }
  }

  readiness(): ReadinessReport {
    return readinessOf(this.upstreams, this.healthByServer);
  }

  /** Health of the running servers as last checked (uptime over 24 h), for the admin API. */
  healthSummaries(): ReadonlyMap<string, HealthSummary> {
    return this.healthByServer;
  }

  upstreamState(name: string): UpstreamRuntime | undefined {
    const upstream = this.upstreams.get(name);
    return upstream === undefined ? undefined : upstreamRuntime(upstream);
  }

  /** Serves Streamable HTTP (and legacy SSE); resolves with the base URL once listening. */
  async listen(overrides: { host?: string; port?: number; allowUnauthenticated?: boolean } = {}): Promise<string> {
    const { listen, limits, sessions, admin } = this.config;
    const host = overrides.host ?? listen.host;
    const port = overrides.port ?? listen.port;
    const loopbackOnly = isLoopbackAddress(host);
    const authRequired = this.config.auth.required;
    if (!loopbackOnly && !authRequired && !overrides.allowUnauthenticated) {
      // DESIGN principle 6: no unauthenticated gateway on a network.
      throw new Error(
        `Refusing to listen on ${host}: that address is reachable from other machines and authentication is not required. ` +
          'Set auth.required: true (with API keys or an OIDC issuer), listen on 127.0.0.1, or pass --allow-unauthenticated ' +
          'if the network in front of the gateway authenticates callers.',
      );
    }
    let publicUrl = '';
    const adminApi = admin.enabled
      ? adminApiRoutes({
          registry: this.registry,
          config: this.config,
          logger: this.logger,
          audit: this.audit,
          publicUrl: () => publicUrl,
          runtime: (name) => this.upstreamState(name),
          health: () => this.healthByServer,
          sessionCount: () => this.sessions.size,
          serving: () => this.serving,
          ready: () => this.readiness().ready,
        })
      : undefined;
    // The admin API changes what runs on this host: on a listener others can reach it needs
    // authentication (and then an admin role); without it, it is served on loopback only.
    const adminOnMain = adminApi !== undefined && admin.listen === undefined && (loopbackOnly || authRequired);
    if (adminApi !== undefined && admin.listen === undefined && !adminOnMain) {
      this.logger.warn({ host }, 'admin API not served: the listener is reachable from other machines and authentication is not required');
    }
    const httpAuth = createHttpAuth({
      config: this.config,
      registry: this.registry,
      listenUrl: () => publicUrl,
      isEndpoint: (name) => this.view(name) !== undefined,
      failed: (reason) => this.metrics?.authFailed(reason),
    });
    this.http = new GatewayHttpServer(
      this.handler,
      this.router,
      this.sessions,
      (name) => this.view(name),
      () => this.readiness(),
      {
        host,
        port,
        origin: { loopbackOnly, allowedOrigins: listen.allowedOrigins, allowedHosts: listen.allowedHosts },
        maxBodyBytes: limits.maxBodyBytes,
        maxDepth: limits.maxDepth,
        headersTimeoutMs: limits.headersTimeoutMs,
        requestTimeoutMs: limits.requestTimeoutMs,
        keepAliveTimeoutMs: limits.keepAliveTimeoutMs,
        keepAliveIntervalMs: sessions.keepAliveIntervalMs,
        idleTimeoutMs: sessions.idleTimeoutMs,
        eventStoreSize: sessions.eventStoreSize,
      },
      this.logger,
      [...(adminOnMain ? [adminApi] : []), ...metricsRoutes(this.metrics, this.config), ...connectionRoutes(this.wiring, this.connections)],
      httpAuth,
    );
    const url = await this.http.listen();
    publicUrl = url;
    this.publicBase = (this.config.auth.resource ?? url).replace(/\/+$/, '');
    const http = this.http;
    this.resources.defer(() => http.close(this.config.shutdown.drainTimeoutMs));
    if (adminApi !== undefined && admin.listen !== undefined) {
      if (!isLoopbackAddress(admin.listen.host) && !authRequired) {
        throw new Error(`Refusing to serve the admin API on ${admin.listen.host}: authentication is not required (auth.required); use a loopback address.`);
      }
      const adminListener = await listenExtraRoutes(
        // The metrics too: operators who keep the admin API on a port of its own scrape there.
        [adminApi, ...metricsRoutes(this.metrics, this.config)],
        {
          host: admin.listen.host,
          port: admin.listen.port,
          origin: { loopbackOnly: isLoopbackAddress(admin.listen.host), allowedOrigins: [], allowedHosts: [] },
          headersTimeoutMs: limits.headersTimeoutMs,
          requestTimeoutMs: limits.requestTimeoutMs,
        },
        this.logger,
        httpAuth,
      );
      this.adminUrl = adminListener.url;
      this.resources.defer(() => adminListener.close());
    } else if (adminOnMain) {
      this.adminUrl = url;
    }
    this.warmUp();
    return url;
  }

  /** The response cache (cache.rules), when configured. */
  readonly cache: { filter: CacheFilter; store: CacheStore } | undefined;

  /** Per-user OAuth connections to servers that act as the user (`userAuth.mode: oauth`). */
  readonly connections: UserConnections;
  /** The gateway's public base URL: auth.resource, else the URL it listens on. */
  private publicBase = '';

  /** What the user-connection wiring (app-connections.ts) reads of the running gateway. */
  private get wiring(): ConnectionWiring {
    return {
      registry: this.registry,
      config: this.config,
      logger: this.logger,
      sessions: () => this.sessions.values(),
      publicUrl: () => this.publicBase,
    };
  }

  /** Where the admin API answers, once listening (undefined when it is off). */
  adminUrl: string | undefined;

  private createMetrics(): GatewayMetrics {
    const { metrics } = this.config;
    return new GatewayMetrics({
      defaultMetrics: metrics.defaultMetrics,
      callerLabels: metrics.labels,
      version: GATEWAY_INFO.version,
      sessions: () => this.sessions.values(),
      upstreams: () => this.upstreams.values(),
      ...(this.audit !== undefined ? { audit: () => this.audit?.options.writer } : {}),
      ...(metrics.enabled && (this.config.cache.rules.length > 0 || this.config.cache.annotatedTools !== undefined) ? { cache: () => this.cache?.filter.counters } : {}),
    });
  }

  /** Serves one client on stdin/stdout until stdin ends. */
  serveStdio(input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<void> {
    this.warmUp();
    return serveStdio(
      this.handler,
      this.router,
      this.views.get(AGGREGATE_VIEW_NAME)!,
      input as never,
      output as never,
      this.config.limits.maxBodyBytes,
    );
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /**
   * Re-reads the config file and applies what changed in `servers` and `virtualServers`. A file with an
   * error is refused with a message and the running config stays. Settings that need a new listener
   * or process (listen, limits, store) are reported and take effect on the next start.
   */
  async reloadConfig(file: string): Promise<boolean> {
    let config: GatehouseConfig;
    try {
      config = await loadConfigFile(file);
    } catch (error) {
      this.logger.error({ file, reason: toGatehouseError(error).message }, 'config file not applied: the running config stays');
      return false;
    }
    const restartOnly = restartOnlySettings(config, this.config);
    if (restartOnly.length > 0) this.logger.warn({ settings: restartOnly }, 'these settings changed in the file and apply at the next start');
    this.config = { ...this.config, servers: config.servers, virtualServers: config.virtualServers, upstreamDefaults: config.upstreamDefaults };
    // Seeding changes the registry, whose change listener applies the new catalog.
    await this.registry.seed(declarations(config));
    this.logger.info({ file, ...this.serving }, 'config file applied');
    return true;
  }

  /**
   * Watches the config file's directory (editors save by writing a new file and renaming it over the
   * old one, which a watch on the file itself would lose) and reloads shortly after the last event.
   */
  private watchConfig(file: string): void {
    const path = resolve(file);
    const name = basename(path);
    let timer: NodeJS.Timeout | undefined;
    this.watcher = watch(dirname(path), (_event, changed) => {
      if (changed !== null && changed !== name) return;
      clearTimeout(timer);
      timer = setTimeout(() => void this.reloadConfig(path), CONFIG_SETTLE_MS);
    });
    this.watcher.on('error', (error) => this.logger.warn({ reason: error.message }, 'config file watch failed; restart to apply edits'));
    this.resources.defer(() => clearTimeout(timer));
  }

  /** Pings every server on an interval; the samples give latency, the last error and uptime over 24 h. */
  private startHealthChecks(): void {
    const interval = this.config.registry.healthCheckIntervalMs;
    if (interval === 0) return;
    const tick = (): void => {
      this.checkHealth().finally(() => {
        if (this.healthTimer !== undefined) this.healthTimer = setTimeout(tick, interval).unref();
      });
    };
    this.healthTimer = setTimeout(tick, 0).unref();
  }

  /** One round of health checks; resolves when every sample is recorded. */
  async checkHealth(): Promise<void> {
    await recordHealthChecks(this.upstreams, this.registry, this.config.registry.healthCheckTimeoutMs);
    if (Date.now() - this.lastPrune > HOUR_MS) {
      this.lastPrune = Date.now();
      await this.registry.store.pruneHealth(new Date(Date.now() - 2 * DAY_MS).toISOString()).catch(() => 0);
    }
    this.healthByServer = await this.registry.health(DAY_MS).catch(() => this.healthByServer);
  }

  /** Collects a server's lists as the router fetches them and records them (debounced) with its identity. */
  private learn(server: string, kind: ListKind, items: Params[]): void {
    let entry = this.learning.get(server);
    if (!entry) {
      entry = { timer: setTimeout(() => this.flushLearnt(server), LEARN_SETTLE_MS), lists: {} };
      entry.timer.unref();
      this.learning.set(server, entry);
    }
    entry.lists[kind] = items;
  }

  private flushLearnt(server: string): void {
    const entry = this.learning.get(server);
    this.learning.delete(server);
    const identity = this.upstreams.get(server)?.identity;
    if (!entry || !identity) return;
    recordLearnt(this.registry, this.logger, server, identity, entry.lists);
  }

  close(): Promise<void> {
    return this.resources.close();
  }
}

/** Editors write a file in several steps; apply once they are done. */
const CONFIG_SETTLE_MS = 150;
/** A server's four lists arrive within moments of each other; write them once. */
const LEARN_SETTLE_MS = 200;

function tracingOptions(tracing: NonNullable<GatehouseConfig['tracing']>, logger: Logger): TracingOptions {
  return { ...tracing, serviceVersion: GATEWAY_INFO.version, warn: (message, detail) => logger.warn(detail, message) };
}
