import type { ServerConfig } from '../config/index.js';
import { GATEWAY_VERSION, GatehouseError, type Identity } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import type { Params } from '../protocol/index.js';
import { createPool } from './http-transport.js';
import { createUpstreamTransport, httpEndpoints } from './upstream-transports.js';
import type { UpstreamFailure } from './transport.js';
import { UpstreamClient, type ServerIdentity, type ServerMessageHandler } from './upstream-client.js';
import { ClientCredentialsToken, type UpstreamCredentials } from './client-credentials.js';
import { UserTokenCredentials, type UserTokenSource } from './user-credentials.js';
import type { CircuitBreakerOptions, CircuitState } from './circuit-breaker.js';
import { UpstreamEndpoint } from './upstream-endpoint.js';
import { httpHealthFailure, pingFailure } from './endpoint-health.js';
import { pickEndpoint } from './endpoint-balancer.js';
import { DEFAULT_RETRY_BUDGET, RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
import { CrashLoop, type CrashLoopOptions } from './crash-loop.js';
import { ProcessPool, type ProcessPoolHost } from './process-pool.js';
import { ProcessSupervisor, type SupervisedProcesses } from './process-supervisor.js';
import { RestartBackoff } from './restart-backoff.js';
import picomatch from 'picomatch';

export interface UpstreamDefaults {
  /** `upstreamDefaults.retryBudget`; DEFAULT_RETRY_BUDGET when left out. */
  retryBudget?: Omit<RetryBudgetOptions, 'now'>;
  requestTimeoutMs: number;
  maxRequestMs: number;
  circuitBreaker: Omit<CircuitBreakerOptions, 'now'>;
  listTimeoutMs: number;
  initializeTimeoutMs: number;
  restartBackoffMs: number;
  /** stdio: a per-session process with no request for this long is stopped (0: never). */
  idleShutdownMs: number;
  /** stdio: resident memory ceiling per process (with its children); undefined: none. */
  maxMemoryMb?: number | undefined;
  memoryCheckIntervalMs: number;
  crashLoop: CrashLoopOptions;
}

/** The downstream side a per-session client acts for. */
export interface SessionOwner {
  readonly id: string;
  /** A 2026-07-28 request has no session: it is served on the shared upstream connection. */
  readonly stateless?: boolean;
  readonly clientCapabilities: Params;
  readonly clientInfo: Params;
  /** Who the session belongs to; forwarded as headers only to servers that opt in. */
  readonly identity?: Identity;
}

export type UpstreamState = 'starting' | 'ready' | 'down';

/** How often a retiring server's in-flight count is checked; short against any call, cheap against the loop. */
const DRAIN_POLL_MS = 20;

export const GATEWAY_CLIENT_INFO: Params = { name: 'gatehouse', version: GATEWAY_VERSION };

/**
 * Everything the gateway may be asked to relay, declared toward servers the gateway shares between
 * clients; a server request is refused later if the client it is routed to lacks the capability.
 */
const SHARED_CLIENT_CAPABILITIES: Params = { roots: { listChanged: true }, sampling: {}, elicitation: {} };

const PROBE_TIMEOUT_MS = 3_000;
/** The longest delay a Node timer takes (about 24.8 days). */
const LISTEN_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * One configured server: its shared connection (the stdio process, or the HTTP session the gateway
 * uses for lists and health), its per-client sessions, restarts with backoff, and its state.
 */
export class Upstream {
  state: UpstreamState = 'starting';
  lastError: string | undefined;
  /** Process restarts so far (stdio), read by the metrics at scrape time. */
  restarts = 0;
  readonly requestTimeoutMs: number;
  readonly maxRequestMs: number;
  /**
   * Where the server runs: one per URL (several with `urls`), one for a stdio server. Each has its own
   * circuit breaker, which pauses calls to it while it keeps failing (transport failures and timeouts).
   */
  readonly endpoints: readonly UpstreamEndpoint[];
  /** Several endpoints: sessions are placed by the balancer, calls' latency is measured, and failures move sessions. */
  readonly balanced: boolean;
  /** Caps retries of failed requests to this server (router). */
  readonly retryBudget: RetryBudget;
  /** The balancer's random source; tests replace it. */
  random: () => number = Math.random;
  /** Per-tool timeouts, first match wins. */
  private readonly toolTimeouts: readonly { matches: (name: string) => boolean; requestTimeoutMs: number; maxRequestMs: number }[];
  private shared: UpstreamClient | undefined;
  private connecting: Promise<UpstreamClient> | undefined;
  private readonly perSession = new Map<string, Promise<UpstreamClient>>();
  private readonly ready = new Map<string, UpstreamClient>();
  /** A server that acts as the user: 2026-07-28 callers (no session) get one connection per user. */
  private readonly perUser = new Map<string, Promise<UpstreamClient>>();
  private readonly perUserReady = new Map<string, UpstreamClient>();
  /** The stateless client for 2026-07-28 callers, when the server speaks both eras. */
  private modernShared: UpstreamClient | undefined;
  private readonly credentials: ClientCredentialsToken | undefined;
  /** The shared process's restarts (stdio); a pool's processes each have their own. */
  private readonly restartBackoff: RestartBackoff;
  /** stdio `replicas` > 1: the processes sessions are placed on. */
  private readonly pool: ProcessPool | undefined;
  /** stdio: unplanned exits, and the cool-down of a crash loop. */
  private readonly crashLoop: CrashLoop;
  private cooldownTimer: NodeJS.Timeout | undefined;
  /** stdio: idle shutdown of session processes and the memory ceiling. */
  private readonly supervisor: ProcessSupervisor | undefined;
  private closed = false;
  /** The shared connection was made once: a later one replaces a lost one. */
  private everConnected = false;
  private readonly logger: Logger;

  constructor(
    readonly name: string,
    readonly config: ServerConfig,
    private readonly handler: ServerMessageHandler,
    private readonly defaults: UpstreamDefaults,
    logger: Logger,
    /** Where calls get the user's token, for a server with `userAuth`. */
    private readonly userTokens?: UserTokenSource,
  ) {
    this.logger = logger.child({ server: name });
    this.requestTimeoutMs = config.requestTimeoutMs ?? defaults.requestTimeoutMs;
    this.maxRequestMs = config.maxRequestMs ?? defaults.maxRequestMs;
    this.retryBudget = new RetryBudget(config.retryBudget ?? defaults.retryBudget ?? DEFAULT_RETRY_BUDGET);
    const breaker = config.circuitBreaker ?? defaults.circuitBreaker;
    this.toolTimeouts = config.toolTimeouts.map((entry) => ({
      matches: picomatch(entry.tools),
      requestTimeoutMs: entry.requestTimeoutMs ?? this.requestTimeoutMs,
      maxRequestMs: entry.maxRequestMs ?? this.maxRequestMs,
    }));
    this.restartBackoff = new RestartBackoff(defaults.restartBackoffMs);
    this.crashLoop = new CrashLoop(config.transport === 'stdio' ? (config.crashLoop ?? defaults.crashLoop) : { ...defaults.crashLoop, maxRestarts: 0 });
    if (config.transport === 'stdio') {
      const command = [config.command, ...config.args].join(' ');
      const replicas = config.replicas ?? 1;
      // One endpoint per process: a pool reuses the replicas' balancer and circuit breakers.
      this.endpoints = Array.from({ length: replicas }, (_, index) =>
        UpstreamEndpoint.create(name, undefined, replicas === 1 ? command : `${command} #${index + 1}`, 1, undefined, breaker),
      );
      if (replicas > 1) this.pool = new ProcessPool(this.endpoints, this.poolHost, defaults.restartBackoffMs, this.logger);
      const maxMemoryMb = config.maxMemoryMb ?? defaults.maxMemoryMb;
      this.supervisor = new ProcessSupervisor(
        {
          idleShutdownMs: config.isolation === 'per-session' ? (config.idleShutdownMs ?? defaults.idleShutdownMs) : 0,
          maxMemoryMb,
          memoryCheckIntervalMs: defaults.memoryCheckIntervalMs,
        },
        this.supervised,
      );
      this.supervisor.start();
    } else {
      // A pool per endpoint: replicas on one origin (behind one load balancer's name) still get their own.
      this.endpoints = httpEndpoints(config).map(({ url, weight }) => UpstreamEndpoint.create(name, new URL(url), url, weight, createPool(new URL(url).origin), breaker));
    }
    this.balanced = this.endpoints.length > 1;
    if (config.transport !== 'stdio') {
      if (config.oauth !== undefined) {
        this.credentials = new ClientCredentialsToken({
          ...config.oauth,
          resource: config.oauth.resource ?? this.endpoints[0]!.label,
          timeoutMs: defaults.initializeTimeoutMs,
          logger: this.logger,
        });
      }
    }
  }

  /** The idle limit (re-armed by progress) and the hard limit for a call of `tool` (any other request: the server's). */
  timeoutsFor(tool: string | undefined): { timeoutMs: number; maxMs: number } {
    if (tool !== undefined) {
      for (const entry of this.toolTimeouts) if (entry.matches(tool)) return { timeoutMs: entry.requestTimeoutMs, maxMs: entry.maxRequestMs };
    }
    return { timeoutMs: this.requestTimeoutMs, maxMs: this.maxRequestMs };
  }

  get identity(): ServerIdentity | undefined {
    return this.shared?.identity;
  }

  /** The server's circuit: closed while any endpoint's is, open when every endpoint's is open. */
  get circuit(): CircuitState {
    if (!this.balanced) return this.endpoints[0]!.breaker.state;
    let halfOpen = false;
    for (const endpoint of this.endpoints) {
      const state = endpoint.breaker.state;
      if (state === 'closed') return 'closed';
      if (state === 'half-open') halfOpen = true;
    }
    return halfOpen ? 'half-open' : 'open';
  }

  /** The server's circuit as the metrics read it: `circuit`, and the openings of every endpoint's. */
  get breaker(): { readonly state: CircuitState; readonly opens: number } {
    return { state: this.circuit, opens: this.circuitOpens };
  }

  /** How many times a circuit of this server opened. */
  get circuitOpens(): number {
    let opens = 0;
    for (const endpoint of this.endpoints) opens += endpoint.breaker.opens;
    return opens;
  }

  /**
   * Fails at once (upstream_unavailable, `circuit: open`) when no endpoint could take a call now;
   * changes nothing, so the call's own admit() later takes the half-open trial.
   */
  checkAvailable(): void {
    if (this.crashLoop.blocked) throw this.crashLoopError();
    if (!this.balanced) {
      const breaker = this.endpoints[0]!.breaker;
      if (!breaker.available) breaker.admit();
      return;
    }
    for (const endpoint of this.endpoints) if (endpoint.breaker.available) return;
    this.endpoints[0]!.breaker.admit();
  }

  /** The server (or the endpoint `client` is on) answers again: an open circuit lets its next call through as a trial. */
  recovered(client?: UpstreamClient): void {
    if (client !== undefined) client.endpoint.breaker.recovered();
    else for (const endpoint of this.endpoints) endpoint.breaker.recovered();
  }

  /** Refreshes each endpoint's load (sessions, requests in flight) from the live clients. */
  refreshLoad(): void {
    if (this.pool !== undefined) {
      this.pool.refreshLoad();
      return;
    }
    for (const endpoint of this.endpoints) {
      endpoint.sessions = 0;
      endpoint.inflight = 0;
    }
    for (const client of this.liveClients()) {
      client.endpoint.sessions++;
      client.endpoint.inflight += client.inflightCount;
    }
  }

  private *liveClients(): Generator<UpstreamClient> {
    if (this.shared && !this.shared.isClosed) yield this.shared;
    if (this.modernShared && !this.modernShared.isClosed) yield this.modernShared;
    for (const client of this.ready.values()) if (!client.isClosed) yield client;
    for (const client of this.perUserReady.values()) if (!client.isClosed) yield client;
  }

  /** Where a new connection goes: the only endpoint, or the balancer's pick (never `avoid` when another can take it). */
  private chooseEndpoint(avoid: UpstreamEndpoint | undefined): UpstreamEndpoint {
    if (!this.balanced) return this.endpoints[0]!;
    this.refreshLoad();
    const picked = pickEndpoint(this.endpoints, this.random, avoid) ?? (avoid?.breaker.available ? avoid : undefined);
    if (picked !== undefined) return picked;
    // Every circuit is open: the soonest to reopen says for how long.
    this.checkAvailable();
    return this.endpoints[0]!;
  }

  /** Whether each downstream session gets its own upstream session (HTTP always; stdio when asked). */
  get isolatesSessions(): boolean {
    return this.config.transport !== 'stdio' || this.config.isolation === 'per-session';
  }

  /** The shared connection, connecting (once, however many callers wait) when there is none. */
  sharedClient(): Promise<UpstreamClient> {
    if (this.closed) return Promise.reject(new GatehouseError('shutting_down'));
    if (this.shared && !this.shared.isClosed) return Promise.resolve(this.shared);
    this.connecting ??= this.connectShared()
      .then((client) => {
        const reconnected = this.everConnected;
        this.everConnected = true;
        this.shared = client;
        this.state = 'ready';
        this.lastError = undefined;
        // Back after a restart: the next call is a trial instead of waiting out the open circuit.
        client.endpoint.breaker.recovered();
        client.openEventStream();
        this.pool?.fill();
        this.logger.info({ protocolVersion: client.identity?.protocolVersion, serverInfo: client.identity?.serverInfo }, 'upstream ready');
        // Back after a loss (a process restart): the sessions' subscriptions and log levels are set up again.
        if (reconnected) this.handler.onSharedReconnected?.(client);
        if (client.era === 'modern') void this.listen(client);
        else if (this.config.era === 'auto' && this.config.transport === 'streamable-http') return this.probeModern().then(() => client);
        return client;
      })
      .catch((error: unknown) => {
        this.markDown(error);
        throw error instanceof GatehouseError ? error : new GatehouseError('upstream_unavailable', `Server "${this.name}": ${String((error as Error).message ?? error)}`);
      })
      .finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /**
   * A server that also speaks 2026-07-28 (an SDK v2 server serves both eras on one endpoint) gets a
   * second, stateless client, so that 2026-07-28 callers reach it in their own era: input_required,
   * per-request capabilities and requestState then pass through untouched instead of being bridged.
   */
  private async probeModern(): Promise<void> {
    if (this.modernShared || this.closed || !this.shared) return;
    // A short limit: a server that does not answer server/discover promptly is treated as session-only.
    const probe = this.newClient(undefined, this.shared.endpoint, 'modern', PROBE_TIMEOUT_MS);
    try {
      await probe.connect();
      if (this.closed) await probe.close();
      else {
        this.modernShared = probe;
        this.logger.info('upstream also speaks 2026-07-28; stateless callers use it directly');
      }
    } catch {
      await probe.close();
    }
  }

  /**
   * 2026-07-28 servers announce list changes only on a `subscriptions/listen` stream (there is no GET
   * stream): the gateway keeps one open on the shared client and opens it again when it ends, so
   * list_changed reaches the router like a session-era server's.
   */
  private async listen(client: UpstreamClient): Promise<void> {
    const filter = { notifications: { toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true } };
    while (!this.closed && !client.isClosed) {
      try {
        // The stream lives as long as the server keeps it; no timeout of the gateway's should end it.
        await client.request('subscriptions/listen', filter, { timeoutMs: LISTEN_TIMEOUT_MS });
      } catch (error) {
        this.logger.debug({ reason: (error as Error).message }, 'subscriptions/listen ended');
      }
      await new Promise((resolve) => setTimeout(resolve, this.defaults.restartBackoffMs).unref());
    }
  }

  /** The connected client for a session, without waiting: the hot path's common case. */
  readyClientFor(owner: SessionOwner): UpstreamClient | undefined {
    if (this.userTokens !== undefined && owner.stateless) {
      const client = this.perUserReady.get(owner.identity?.subject ?? '');
      return client && !client.isClosed ? client : undefined;
    }
    if (owner.stateless && this.modernShared && !this.modernShared.isClosed) return this.modernShared;
    if (this.pool !== undefined && !owner.stateless) return this.pool.readyFor(owner.id);
    const client = this.isolatesSessions && !owner.stateless ? this.ready.get(owner.id) : this.shared;
    if (client === undefined || client.isClosed) return undefined;
    // A session on a replica whose circuit opened (or that failed its health check) moves (clientFor).
    return this.balanced && this.shouldLeave(client.endpoint) ? undefined : client;
  }

  /** Sessions leave an endpoint whose circuit is open, or that failed its health check while another is healthy. */
  private shouldLeave(endpoint: UpstreamEndpoint): boolean {
    if (!endpoint.breaker.available) return true;
    return endpoint.unhealthy && this.endpoints.some((other) => other !== endpoint && other.healthy && other.breaker.available);
  }

  /**
   * Checks each endpoint of a server that has several, or a `healthPath`: GET healthPath on the
   * endpoint's origin, else an MCP ping on a connection placed on it (an endpoint with none is left as
   * it is). An endpoint that fails takes no new sessions and its sessions move on their next request
   * (shouldLeave); one that passes again takes them again. The shared connection is pinged by the caller.
   */
  async checkEndpoints(timeoutMs: number): Promise<void> {
    const healthPath = this.config.transport === 'stdio' ? undefined : this.config.healthPath;
    if (this.closed || (!this.balanced && healthPath === undefined)) return;
    const live = [...this.liveClients()];
    await Promise.all(
      this.endpoints.map(async (endpoint) => {
        let failure: string | undefined;
        if (healthPath !== undefined && endpoint.pool !== undefined) failure = await httpHealthFailure(endpoint.pool, healthPath, timeoutMs);
        else {
          const client = live.find((candidate) => candidate.endpoint === endpoint);
          if (client === undefined) return;
          failure = await pingFailure(client, timeoutMs);
        }
        const wasUnhealthy = endpoint.unhealthy;
        endpoint.checked(failure);
        if (failure === undefined) {
          endpoint.reached();
          if (wasUnhealthy) this.logger.info({ endpoint: endpoint.label }, 'endpoint passed its health check again; it takes sessions again');
          return;
        }
        if (!wasUnhealthy) this.logger.warn({ endpoint: endpoint.label, reason: failure }, 'endpoint failed its health check; its sessions move to another');
        // The shared connection (lists, health) leaves it too, when another endpoint may be up.
        this.endpointFailed(endpoint, failure);
      }),
    );
  }

  /** The client to use for a downstream session's calls. */
  clientFor(owner: SessionOwner, avoid?: UpstreamEndpoint): Promise<UpstreamClient> {
    // Acting as the user: never the shared connection (it holds the server's own credentials).
    if (this.userTokens !== undefined && owner.stateless) return this.userClientFor(owner);
    // A 2026-07-28 caller gets the stateless client when the server speaks both eras (the probe runs
    // before sharedClient() resolves), as readyClientFor() would give it.
    if (owner.stateless) return this.sharedClient().then((client) => this.modernShared ?? client);
    if (this.pool !== undefined) {
      if (this.closed) return Promise.reject(new GatehouseError('shutting_down'));
      if (this.crashLoop.blocked) return Promise.reject(this.crashLoopError());
      return this.pool.clientFor(owner.id, (avoidHere) => this.chooseEndpoint(avoidHere), avoid);
    }
    if (!this.isolatesSessions) return this.sharedClient();
    const existing = this.perSession.get(owner.id);
    if (existing) {
      const current = this.ready.get(owner.id);
      if (!this.balanced || current === undefined || !this.shouldLeave(current.endpoint)) return existing;
      // Its replica's circuit is open, or it failed its health check: re-establish the session on another one.
      this.releaseSession(owner.id);
      return this.clientFor(owner, current.endpoint);
    }
    const created = this.connect(owner, undefined, avoid, true).then((client) => {
      client.openEventStream();
      if (this.perSession.get(owner.id) === created) this.ready.set(owner.id, client);
      return client;
    });
    this.perSession.set(owner.id, created);
    created.catch(() => this.perSession.delete(owner.id));
    return created;
  }

  /**
   * A 2026-07-28 caller of a server that acts as the user: one connection per user, kept for the
   * user's later requests, with no session owner (its requests carry no session, as on the shared one).
   */
  private userClientFor(owner: SessionOwner): Promise<UpstreamClient> {
    const subject = owner.identity?.subject ?? '';
    const existing = this.perUser.get(subject);
    if (existing) return existing;
    const identity = owner.identity;
    const created = this.connect(undefined, identity, undefined, true).then((client) => {
      client.openEventStream();
      if (this.perUser.get(subject) === created) this.perUserReady.set(subject, client);
      return client;
    });
    this.perUser.set(subject, created);
    created.catch(() => this.perUser.delete(subject));
    return created;
  }

  /** The downstream session ended: end its upstream session too. */
  releaseSession(ownerId: string): void {
    this.pool?.release(ownerId);
    const client = this.perSession.get(ownerId);
    if (!client) return;
    this.perSession.delete(ownerId);
    this.ready.delete(ownerId);
    client.then((c) => c.close()).catch(() => undefined);
  }

  /** Called by the handler when a client's connection closed on its own. */
  clientClosed(client: UpstreamClient, reason: Error | undefined): void {
    if (this.pool?.owns(client)) {
      this.poolProcessExited(client, reason);
      return;
    }
    if (client !== this.shared) {
      const owner = client.owner as SessionOwner | undefined;
      // A session's own process that exited on its own counts toward a crash loop like the shared one.
      if (this.config.transport === 'stdio' && owner !== undefined && this.ready.get(owner.id) === client) this.noteCrash();
      this.forgetOther(client);
      return;
    }
    this.shared = undefined;
    if (this.balanced && !this.closed) {
      // Another replica may be up: reconnect now (the balancer avoids this one), down only if none is.
      client.endpoint.failed(reason?.message ?? 'connection closed');
      this.reconnectShared();
      return;
    }
    this.markDown(reason);
    if (this.config.transport === 'stdio' && !this.noteCrash()) this.scheduleRestart();
  }

  /** A pool process died: its sessions move on their next call, and the pool restarts it with backoff. */
  private poolProcessExited(client: UpstreamClient, reason: Error | undefined): void {
    if (this.noteCrash()) return;
    const pool = this.pool!;
    pool.exited(client, reason?.message ?? 'process exited');
    if (client === this.shared) this.shared = undefined;
    if (!pool.anyReady) this.markDown(reason);
    else if (this.shared === undefined) this.reconnectShared();
  }

  private markDown(error: unknown): void {
    this.state = 'down';
    // In a crash loop, that is the reason, whatever the last attempt said.
    if (this.crashLoop.blocked) this.lastError = this.crashLoop.reason;
    else this.lastError = error instanceof Error ? error.message : error === undefined ? 'connection closed' : String(error);
    this.logger.warn({ reason: this.lastError }, 'upstream down');
  }

  /** Restarts the shared process after a backoff that doubles with each crash. */
  private scheduleRestart(): void {
    if (this.closed || this.crashLoop.blocked) return;
    const delay = this.restartBackoff.schedule(() => this.restartShared());
    if (delay !== undefined) this.logger.info({ delayMs: delay }, 'restarting upstream');
  }

  private restartShared(): void {
    if (this.closed || this.crashLoop.blocked) return;
    this.restarts++;
    this.sharedClient().then(
      () => this.restartBackoff.succeeded(() => this.state === 'ready'),
      () => this.scheduleRestart(),
    );
  }

  /**
   * Records an unplanned exit (or failed start) of a stdio process; true when the server is in a crash
   * loop now. Entering one stops its processes and restarts: it stays down until the cool-down ends.
   */
  private noteCrash(): boolean {
    if (this.closed) return false;
    if (!this.crashLoop.record()) return this.crashLoop.blocked;
    this.restartBackoff.cancel();
    this.state = 'down';
    this.lastError = this.crashLoop.reason;
    this.logger.error({ reason: this.lastError }, 'upstream in a crash loop; left down');
    void this.stopProcesses(this.lastError);
    clearTimeout(this.cooldownTimer);
    this.cooldownTimer = setTimeout(() => this.endCooldown(), Math.max(0, this.crashLoop.blockedUntil - Date.now()));
    this.cooldownTimer.unref();
    return true;
  }

  private endCooldown(): void {
    this.cooldownTimer = undefined;
    this.crashLoop.end();
    if (this.closed) return;
    this.logger.info('crash loop cool-down over; starting the server again');
    this.restartShared();
  }

  private crashLoopError(): GatehouseError {
    return new GatehouseError('upstream_unavailable', `Server "${this.name}" is down after a ${this.crashLoop.reason}.`, { crashLoop: true });
  }

  /** Stops every process of the server (sessions get new ones on their next call, once allowed). */
  private async stopProcesses(reason: string): Promise<void> {
    const sessions = [...this.perSession.values()];
    this.perSession.clear();
    this.ready.clear();
    const shared = this.shared;
    this.shared = undefined;
    await Promise.allSettled([this.pool?.stop(reason), shared?.close(reason), ...sessions.map((client) => client.then((c) => c.close(reason)))]);
  }

  /** The server's processes, as the supervisor watches them. */
  private readonly supervised: SupervisedProcesses = {
    processes: () => this.processes(),
    sessionProcesses: () => this.ready.values(),
    stopIdle: (client) => this.stopIdle(client),
    overMemory: (client, residentMb) => this.overMemory(client, residentMb),
  };

  private *processes(): Generator<UpstreamClient> {
    if (this.pool !== undefined) yield* this.pool.live();
    else if (this.shared !== undefined && !this.shared.isClosed) yield this.shared;
    for (const client of this.ready.values()) if (!client.isClosed) yield client;
  }

  /** A session's process had no request for idleShutdownMs: stopped; the session's next call starts (and initialises) a new one. */
  private stopIdle(client: UpstreamClient): void {
    const owner = client.owner as SessionOwner | undefined;
    if (owner === undefined || this.ready.get(owner.id) !== client || client.inflightCount > 0) return;
    this.perSession.delete(owner.id);
    this.ready.delete(owner.id);
    this.logger.info({ session: owner.id, pid: client.pid }, 'session process idle; stopped');
    void client.close('The server process was stopped after being idle.');
  }

  /** Over the memory ceiling: replaced between calls, so that no call fails for it. */
  private overMemory(client: UpstreamClient, residentMb: number): void {
    if (this.closed || !this.detach(client)) return;
    this.restarts++;
    this.logger.warn(
      { pid: client.pid, residentMb: Math.round(residentMb), maxMemoryMb: this.config.transport === 'stdio' ? (this.config.maxMemoryMb ?? this.defaults.maxMemoryMb) : undefined },
      'process over its memory ceiling; restarted between calls',
    );
    void this.closeWhenIdle(client, 'The server process was restarted (memory ceiling).');
  }

  /** Takes a process out of service: new calls go to (or wait for) its replacement. False when it is not in service. */
  private detach(client: UpstreamClient): boolean {
    if (this.pool?.owns(client)) {
      if (client === this.shared) this.shared = undefined;
      this.pool.replace(client);
      return true;
    }
    if (client === this.shared) {
      this.shared = undefined;
      this.sharedClient().catch(() => undefined);
      return true;
    }
    const owner = client.owner as SessionOwner | undefined;
    if (owner === undefined || this.ready.get(owner.id) !== client) return false;
    this.perSession.delete(owner.id);
    this.ready.delete(owner.id);
    return true;
  }

  /** Closes a detached process once its calls in flight are answered (or maxRequestMs passed). */
  private async closeWhenIdle(client: UpstreamClient, reason: string): Promise<void> {
    const deadline = Date.now() + this.maxRequestMs;
    // At least one turn: a call that was handed this client just before it was detached gets sent first.
    do await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS).unref());
    while (client.inflightCount > 0 && !client.isClosed && Date.now() < deadline);
    await client.close(reason);
  }

  private newClient(
    owner: SessionOwner | undefined,
    endpoint: UpstreamEndpoint,
    era = this.config.era,
    initializeTimeoutMs = this.defaults.initializeTimeoutMs,
    credentials: UpstreamCredentials | undefined = this.credentials,
  ): UpstreamClient {
    return new UpstreamClient({
      server: this.name,
      owner,
      createTransport: () => createUpstreamTransport(this.config, { identity: owner?.identity, credentials, endpoint, connectTimeoutMs: this.defaults.initializeTimeoutMs, logger: this.logger }),
      handler: this.handler,
      endpoint,
      onConnectionFailed: this.onConnectionFailed,
      clientInfo: owner?.clientInfo ?? GATEWAY_CLIENT_INFO,
      clientCapabilities: owner?.clientCapabilities ?? SHARED_CLIENT_CAPABILITIES,
      initializeTimeoutMs,
      era,
    });
  }

  /**
   * Connects for a downstream session (`owner`), or the shared connection. A server that acts as the
   * user gets the user's token for everything but the shared connection: `actingFor` names the user
   * when there is no session to read it from.
   */
  private async connect(owner: SessionOwner | undefined, actingFor?: Identity, avoid?: UpstreamEndpoint, forCall = false): Promise<UpstreamClient> {
    let credentials: UpstreamCredentials | undefined = this.credentials;
    if (this.userTokens !== undefined && (owner !== undefined || actingFor !== undefined)) {
      // The session's identity is read at each renewal: a client that refreshed its token is current.
      credentials = new UserTokenCredentials(this.userTokens, () => owner?.identity ?? actingFor!);
    }
    await credentials?.ready();
    const endpoint = this.chooseEndpoint(avoid);
    // A pool's shared connection is one of its processes.
    if (this.pool !== undefined) return this.pool.processOn(endpoint);
    return this.openOn(endpoint, owner, credentials, forCall);
  }

  /** A new connection (for stdio: a new process) on `endpoint`. */
  private async openOn(endpoint: UpstreamEndpoint, owner: SessionOwner | undefined, credentials: UpstreamCredentials | undefined, forCall: boolean): Promise<UpstreamClient> {
    if (this.crashLoop.blocked) throw this.crashLoopError();
    const client = this.newClient(owner, endpoint, this.config.era, this.defaults.initializeTimeoutMs, credentials);
    try {
      await client.connect();
    } catch (error) {
      this.endpointFailed(endpoint, error instanceof Error ? error.message : String(error));
      // A connection made for a call that failed counts toward the endpoint's circuit like the call would.
      if (forCall && isServerFailure(error)) endpoint.breaker.failure();
      await client.close();
      // A process that could not start counts toward a crash loop.
      if (this.config.transport === 'stdio') this.noteCrash();
      throw error;
    }
    endpoint.reached();
    return client;
  }

  /** How a pool spawns and restarts its processes. */
  private readonly poolHost: ProcessPoolHost = {
    spawn: (endpoint) => this.openOn(endpoint, undefined, undefined, true),
    mayRestart: () => !this.closed && !this.crashLoop.blocked,
    restarting: () => {
      this.restarts++;
    },
    restarted: () => {
      if (this.shared === undefined || this.shared.isClosed) this.reconnectShared();
    },
  };

  /**
   * The shared connection: with several endpoints, one after another until one answers (lists and
   * health must not depend on the replica that happened to be picked).
   */
  private async connectShared(): Promise<UpstreamClient> {
    for (let attempt = 1; ; attempt++) {
      try {
        // A failed endpoint is marked down, so the balancer tries the others next.
        return await this.connect(undefined);
      } catch (error) {
        if (!this.balanced || this.closed || attempt >= this.endpoints.length || this.endpoints.every((endpoint) => endpoint.down)) throw error;
      }
    }
  }

  /**
   * A connection to an endpoint failed under a request. With several endpoints the client is
   * dropped, so the session's next request re-establishes it on another replica (the router retries
   * what is safe at once); with one there is nowhere else, and the next request tries it again.
   */
  private readonly onConnectionFailed = (client: UpstreamClient, failure: UpstreamFailure): void => {
    this.endpointFailed(client.endpoint, failure.message);
    // A pool process whose pipe broke is dead: its exit handler restarts it.
    if (!this.balanced || client.isClosed || this.pool !== undefined) return;
    this.logger.info({ endpoint: client.endpoint.label, reason: failure.message }, 'endpoint failed; its session moves to another');
    this.forget(client);
    void client.close(failure.message);
  };

  /**
   * An endpoint could not be reached. The shared connection (lists, health) leaves it at once when
   * another endpoint may be up; client sessions on it move on their next request.
   */
  private endpointFailed(endpoint: UpstreamEndpoint, reason: string): void {
    endpoint.failed(reason);
    // A pool's shared connection is a process like the others: it is not closed for a failure elsewhere.
    if (!this.balanced || this.closed || this.pool !== undefined || this.endpoints.every((candidate) => candidate.down)) return;
    for (const client of [this.modernShared, this.shared]) {
      if (client === undefined || client.endpoint !== endpoint || client.isClosed) continue;
      this.forget(client);
      void client.close(`Server "${this.name}": ${reason}`);
    }
  }

  /** The shared connection left its endpoint: connect it to another now, and tell the router (lists may differ there). */
  private reconnectShared(): void {
    if (this.closed) return;
    this.sharedClient().then(
      () => this.handler.onSharedMoved?.(this.name),
      () => undefined,
    );
  }

  /** Drops a client from whichever place holds it. */
  private forget(client: UpstreamClient): void {
    if (client === this.shared) {
      this.shared = undefined;
      this.reconnectShared();
      return;
    }
    this.forgetOther(client);
  }

  /** Drops a client that is not the shared connection: the stateless one, a session's, or a user's. */
  private forgetOther(client: UpstreamClient): void {
    if (client === this.modernShared) {
      this.modernShared = undefined;
      return;
    }
    if (client.owner !== undefined) {
      const owner = client.owner as SessionOwner;
      if (this.ready.get(owner.id) === client) {
        this.perSession.delete(owner.id);
        this.ready.delete(owner.id);
      }
      return;
    }
    for (const [subject, userClient] of this.perUserReady) {
      if (userClient !== client) continue;
      this.perUserReady.delete(subject);
      this.perUser.delete(subject);
      return;
    }
  }

  /** Requests in flight on every connection of this server. */
  get inflightCount(): number {
    let count = (this.shared?.inflightCount ?? 0) + (this.modernShared?.inflightCount ?? 0);
    if (this.pool !== undefined) for (const client of this.pool.live()) if (client !== this.shared) count += client.inflightCount;
    for (const client of this.ready.values()) count += client.inflightCount;
    for (const client of this.perUserReady.values()) count += client.inflightCount;
    return count;
  }

  /**
   * Closes once the calls in flight have finished (or `drainTimeoutMs` passed): a server removed or
   * changed by a config change lets its running calls complete. The router no longer sends it new
   * ones, so the count only falls.
   */
  async retire(drainTimeoutMs: number): Promise<void> {
    const deadline = Date.now() + drainTimeoutMs;
    while (this.inflightCount > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS).unref());
    }
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.restartBackoff.cancel();
    clearTimeout(this.cooldownTimer);
    this.supervisor?.close();
    const clients = [...this.perSession.values(), ...this.perUser.values()];
    this.perSession.clear();
    this.ready.clear();
    this.perUser.clear();
    this.perUserReady.clear();
    const connecting = this.connecting?.catch(() => undefined);
    await Promise.allSettled([
      ...clients.map((client) => client.then((c) => c.close())),
      this.shared?.close(),
      this.modernShared?.close(),
      connecting?.then((c) => c?.close()),
      this.pool?.stop('The gateway is shutting down.'),
    ]);
    this.credentials?.close();
    await Promise.allSettled(this.endpoints.map((endpoint) => endpoint.pool?.close()));
  }
}

/**
 * Failures that say the server is unwell now: not that it refused (an open circuit, a crash loop's
 * cool-down, both of which fail calls before they are sent) or that the client gave up.
 */
export function isServerFailure(error: unknown): boolean {
  return (
    error instanceof GatehouseError &&
    (error.code === 'upstream_unavailable' || error.code === 'upstream_timeout') &&
    error.data?.['circuit'] === undefined &&
    error.data?.['crashLoop'] === undefined
  );
}

/** A call refused before it was sent: its server's circuit is open, or it is in a crash loop's cool-down. */
export function refusedUnsent(error: GatehouseError): boolean {
  return error.data?.['circuit'] === 'open' || error.data?.['crashLoop'] === true;
}
