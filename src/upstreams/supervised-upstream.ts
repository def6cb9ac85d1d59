/**
 * The half of one configured server that places and watches where it runs: the server built from
 * its config (endpoints, per-tool timeouts, credentials), its circuits, balancing and health checks,
 * and the supervision of its stdio processes (restarts with backoff, crash loops, idle shutdown,
 * memory ceiling, the replicas' pool). Upstream (upstream.ts) adds the connections on top.
 */
import type { ServerConfig } from '../config/index.js';
import { GatehouseError, type Identity } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import type { Params } from '../protocol/index.js';
import { createPool } from './http-transport.js';
import { httpEndpoints } from './upstream-transports.js';
import type { UpstreamClient, ServerMessageHandler } from './upstream-client.js';
import { ClientCredentialsToken, type UpstreamCredentials } from './client-credentials.js';
import type { UserTokenSource } from './user-credentials.js';
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
export const DRAIN_POLL_MS = 20;

/**
 * One configured server's endpoints and processes, and the state its connections share. Upstream
 * extends it with the connections themselves (shared, per-session, per-user, stateless), which the
 * members declared abstract below reach.
 */
export abstract class SupervisedUpstream {
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
  protected shared: UpstreamClient | undefined;
  protected readonly perSession = new Map<string, Promise<UpstreamClient>>();
  protected readonly ready = new Map<string, UpstreamClient>();
  protected readonly credentials: ClientCredentialsToken | undefined;
  /** The shared process's restarts (stdio); a pool's processes each have their own. */
  protected readonly restartBackoff: RestartBackoff;
  /** stdio `replicas` > 1: the processes sessions are placed on. */
  protected readonly pool: ProcessPool | undefined;
  /** stdio: unplanned exits, and the cool-down of a crash loop. */
  protected readonly crashLoop: CrashLoop;
  protected cooldownTimer: NodeJS.Timeout | undefined;
  /** stdio: idle shutdown of session processes and the memory ceiling. */
  protected readonly supervisor: ProcessSupervisor | undefined;
  protected closed = false;
  protected readonly logger: Logger;

  constructor(
    readonly name: string,
    readonly config: ServerConfig,
    protected readonly handler: ServerMessageHandler,
    protected readonly defaults: UpstreamDefaults,
    logger: Logger,
    /** Where calls get the user's token, for a server with `userAuth`. */
    protected readonly userTokens?: UserTokenSource,
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

  /** Where a new connection goes: the only endpoint, or the balancer's pick (never `avoid` when another can take it). */
  protected chooseEndpoint(avoid: UpstreamEndpoint | undefined): UpstreamEndpoint {
    if (!this.balanced) return this.endpoints[0]!;
    this.refreshLoad();
    const picked = pickEndpoint(this.endpoints, this.random, avoid) ?? (avoid?.breaker.available ? avoid : undefined);
    if (picked !== undefined) return picked;
    // Every circuit is open: the soonest to reopen says for how long.
    this.checkAvailable();
    return this.endpoints[0]!;
  }

  /** Sessions leave an endpoint whose circuit is open, or that failed its health check while another is healthy. */
  protected shouldLeave(endpoint: UpstreamEndpoint): boolean {
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

  /** A pool process died: its sessions move on their next call, and the pool restarts it with backoff. */
  protected poolProcessExited(client: UpstreamClient, reason: Error | undefined): void {
    if (this.noteCrash()) return;
    const pool = this.pool!;
    pool.exited(client, reason?.message ?? 'process exited');
    if (client === this.shared) this.shared = undefined;
    if (!pool.anyReady) this.markDown(reason);
    else if (this.shared === undefined) this.reconnectShared();
  }

  protected markDown(error: unknown): void {
    this.state = 'down';
    // In a crash loop, that is the reason, whatever the last attempt said.
    if (this.crashLoop.blocked) this.lastError = this.crashLoop.reason;
    else this.lastError = error instanceof Error ? error.message : error === undefined ? 'connection closed' : String(error);
    this.logger.warn({ reason: this.lastError }, 'upstream down');
  }

  /** Restarts the shared process after a backoff that doubles with each crash. */
  protected scheduleRestart(): void {
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
  protected noteCrash(): boolean {
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

  protected crashLoopError(): GatehouseError {
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

  /** Implemented by Upstream (upstream.ts), which holds the connections. */
  protected abstract liveClients(): Generator<UpstreamClient>;
  protected abstract endpointFailed(endpoint: UpstreamEndpoint, reason: string): void;
  abstract sharedClient(): Promise<UpstreamClient>;
  protected abstract reconnectShared(): void;
  protected abstract openOn(endpoint: UpstreamEndpoint, owner: SessionOwner | undefined, credentials: UpstreamCredentials | undefined, forCall: boolean): Promise<UpstreamClient>;
}
