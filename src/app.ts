import type { GatehouseConfig } from './config/index.js';
import { ResourceStack } from './core/index.js';
import {
  GatewayHttpServer,
  MessageHandler,
  isLoopbackAddress,
  serveStdio,
  type CallContext,
  type ReadinessReport,
} from './frontends/index.js';
import { createLogger, type Logger } from './observability/index.js';
import { compileChain } from './pipeline/index.js';
import type { RequestOutcome } from './protocol/index.js';
import { AGGREGATE_VIEW_NAME, Router, type View } from './router/index.js';
import { MemorySessionStore } from './session/index.js';
import { Upstream } from './upstreams/index.js';

export interface GatewayOptions {
  /** Where logs go: stdout (1) for `serve`, stderr (2) for `stdio`, whose stdout is the protocol. */
  logDestination?: 1 | 2;
  logger?: Logger;
}

/**
 * The composition root (DESIGN: the only place that knows every part): builds upstreams, the router,
 * the pipeline and the frontends from a config, and shuts them down in reverse order.
 */
export class Gateway {
  readonly logger: Logger;
  readonly router: Router;
  readonly handler: MessageHandler;
  private readonly upstreams = new Map<string, Upstream>();
  private readonly views = new Map<string, View>();
  private readonly sessions = new MemorySessionStore();
  private readonly resources = new ResourceStack();
  private http: GatewayHttpServer | undefined;

  constructor(readonly config: GatehouseConfig, options: GatewayOptions = {}) {
    this.logger = options.logger ?? createLogger({ level: config.log.level, destination: options.logDestination ?? 1 });
    this.router = new Router({
      separator: config.separator,
      pageSize: config.sessions.pageSize,
      listTimeoutMs: config.upstreamDefaults.listTimeoutMs,
      logger: this.logger,
      sessions: () => this.sessions.values(),
    });
    for (const [name, server] of Object.entries(config.servers)) {
      if (!server.enabled) continue;
      this.upstreams.set(name, new Upstream(name, server, this.router, config.upstreamDefaults, this.logger));
      this.views.set(name, { name, servers: [name], prefixed: false });
    }
    this.views.set(AGGREGATE_VIEW_NAME, { name: AGGREGATE_VIEW_NAME, servers: [...this.upstreams.keys()], prefixed: true });
    this.router.setUpstreams(this.upstreams);
    // No filters are configured yet (auth, limits, guards come with their issues); the chain is then
    // the router itself, at no cost per call.
    const chain = compileChain<CallContext, RequestOutcome>([], (context) => this.router.route(context.session, context.request));
    this.handler = new MessageHandler(this.sessions, chain, this.router, this.logger);
    this.resources.defer(() => Promise.allSettled([...this.upstreams.values()].map((upstream) => upstream.close())));
  }

  view(name: string | undefined): View | undefined {
    return this.views.get(name ?? AGGREGATE_VIEW_NAME);
  }

  /** Connects every upstream in the background and fills the list caches, so the first client waits less. */
  warmUp(): void {
    const aggregate = this.views.get(AGGREGATE_VIEW_NAME)!;
    for (const upstream of this.upstreams.values()) {
      upstream
        .sharedClient()
        .then(() => Promise.allSettled((['tools', 'prompts', 'resources', 'resourceTemplates'] as const).map((kind) => this.router.catalog.listFor(aggregate, kind))))
        .catch(() => undefined);
    }
  }

  readiness(): ReadinessReport {
    const servers: ReadinessReport['servers'] = {};
    let ready = true;
    for (const [name, upstream] of this.upstreams) {
      servers[name] = { state: upstream.state, ...(upstream.lastError ? { lastError: upstream.lastError } : {}) };
      if (upstream.state !== 'ready') ready = false;
    }
    return { ready, servers };
  }

  /** Serves Streamable HTTP (and legacy SSE); resolves with the base URL once listening. */
  async listen(overrides: { host?: string; port?: number; allowUnauthenticated?: boolean } = {}): Promise<string> {
    const { listen, limits, sessions } = this.config;
    const host = overrides.host ?? listen.host;
    const port = overrides.port ?? listen.port;
    const loopbackOnly = isLoopbackAddress(host);
    if (!loopbackOnly && !overrides.allowUnauthenticated) {
      // DESIGN principle 6: no unauthenticated gateway on a network. Authentication arrives with the access issue.
      throw new Error(
        `Refusing to listen on ${host}: that address is reachable from other machines and no authentication is configured. ` +
          'Listen on 127.0.0.1, or pass --allow-unauthenticated if the network in front of the gateway authenticates callers.',
      );
    }
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
    );
    const url = await this.http.listen();
    const http = this.http;
    this.resources.defer(() => http.close(this.config.shutdown.drainTimeoutMs));
    this.warmUp();
    return url;
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

  close(): Promise<void> {
    return this.resources.close();
  }
}
