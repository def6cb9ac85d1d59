import type { Logger } from '../observability/index.js';
import { RestartBackoff } from './restart-backoff.js';
import type { UpstreamClient } from './upstream-client.js';
import type { UpstreamEndpoint } from './upstream-endpoint.js';

/** What a pool needs of its server (Upstream). */
export interface ProcessPoolHost {
  /** Spawns and initialises a process on `endpoint`. */
  spawn(endpoint: UpstreamEndpoint): Promise<UpstreamClient>;
  /** Whether processes may be restarted now (not closed, not in a crash loop's cool-down). */
  mayRestart(): boolean;
  /** A restart is about to run (the restart metric counts it). */
  restarting(): void;
  /** A process came back after a restart. */
  restarted(): void;
}

/**
 * A stdio server run as N processes (`replicas`), one endpoint each, so that the endpoint machinery
 * (balancer, circuit breakers, latency) places sessions as it does for HTTP replicas. A process is
 * shared by the sessions placed on it (stdio carries one MCP session); a session stays on its process
 * while it lives and moves (the balancer picks again, avoiding it) when it dies. A dead process is
 * restarted with backoff, each endpoint on its own schedule.
 */
export class ProcessPool {
  private readonly processes = new Map<UpstreamEndpoint, Promise<UpstreamClient>>();
  private readonly ready = new Map<UpstreamEndpoint, UpstreamClient>();
  private readonly placements = new Map<string, UpstreamEndpoint>();
  private readonly backoffs = new Map<UpstreamEndpoint, RestartBackoff>();

  constructor(
    readonly endpoints: readonly UpstreamEndpoint[],
    private readonly host: ProcessPoolHost,
    restartBackoffMs: number,
    private readonly logger: Logger,
  ) {
    for (const endpoint of endpoints) this.backoffs.set(endpoint, new RestartBackoff(restartBackoffMs));
  }

  /** The process on `endpoint`, spawning it (once, however many callers wait) when there is none. */
  processOn(endpoint: UpstreamEndpoint): Promise<UpstreamClient> {
    const existing = this.processes.get(endpoint);
    if (existing !== undefined) return existing;
    const created = this.host.spawn(endpoint).then((client) => {
      if (this.processes.get(endpoint) === created) this.ready.set(endpoint, client);
      return client;
    });
    this.processes.set(endpoint, created);
    created.catch(() => {
      if (this.processes.get(endpoint) === created) this.processes.delete(endpoint);
    });
    return created;
  }

  /** Starts the processes not running yet (after the first one answered): a pool is N processes, not one. */
  fill(): void {
    for (const endpoint of this.endpoints) {
      if (this.processes.has(endpoint)) continue;
      this.processOn(endpoint).catch(() => this.scheduleRestart(endpoint));
    }
  }

  /** The session's process when it is up and takes calls, without waiting: the hot path. */
  readyFor(sessionId: string): UpstreamClient | undefined {
    const endpoint = this.placements.get(sessionId);
    if (endpoint === undefined) return undefined;
    const client = this.ready.get(endpoint);
    return client !== undefined && !client.isClosed && endpoint.breaker.available ? client : undefined;
  }

  /**
   * The session's process: where it was placed while that process lives (or is starting), else the
   * balancer's pick (`choose`), never `avoid` (where its last attempt failed) when another can take it.
   */
  clientFor(sessionId: string, choose: (avoid: UpstreamEndpoint | undefined) => UpstreamEndpoint, avoid?: UpstreamEndpoint): Promise<UpstreamClient> {
    const placed = this.placements.get(sessionId);
    if (placed !== undefined && placed !== avoid && this.processes.has(placed) && placed.breaker.available) return this.processOn(placed);
    const endpoint = choose(avoid ?? placed);
    this.placements.set(sessionId, endpoint);
    return this.processOn(endpoint);
  }

  release(sessionId: string): void {
    this.placements.delete(sessionId);
  }

  /** Whether `client` is one of this pool's live processes. */
  owns(client: UpstreamClient): boolean {
    return this.ready.get(client.endpoint) === client;
  }

  get anyReady(): boolean {
    for (const client of this.ready.values()) if (!client.isClosed) return true;
    return false;
  }

  *live(): Generator<UpstreamClient> {
    for (const client of this.ready.values()) if (!client.isClosed) yield client;
  }

  /** Load as the balancer reads it: the sessions placed on each process and its calls in flight. */
  refreshLoad(): void {
    for (const endpoint of this.endpoints) {
      endpoint.sessions = 0;
      endpoint.inflight = this.ready.get(endpoint)?.inflightCount ?? 0;
    }
    for (const endpoint of this.placements.values()) endpoint.sessions++;
  }

  /** A process died (or its pipe broke): forget it, mark its endpoint down, restart it with backoff. */
  exited(client: UpstreamClient, reason: string): void {
    if (!this.owns(client)) return;
    const endpoint = client.endpoint;
    this.forget(endpoint);
    endpoint.failed(reason);
    this.logger.warn({ endpoint: endpoint.label, pid: client.pid, reason }, 'pool process exited; its sessions move to another');
    this.scheduleRestart(endpoint);
  }

  /** Takes `client` out of the pool and starts its replacement on the same endpoint (its sessions stay there). */
  replace(client: UpstreamClient): void {
    if (!this.owns(client)) return;
    this.forget(client.endpoint);
    this.processOn(client.endpoint).catch(() => this.scheduleRestart(client.endpoint));
  }

  private forget(endpoint: UpstreamEndpoint): void {
    this.processes.delete(endpoint);
    this.ready.delete(endpoint);
  }

  private scheduleRestart(endpoint: UpstreamEndpoint): void {
    if (!this.host.mayRestart()) return;
    const backoff = this.backoffs.get(endpoint)!;
    const delay = backoff.schedule(() => {
      if (!this.host.mayRestart() || this.processes.has(endpoint)) return;
      this.host.restarting();
      this.processOn(endpoint).then(
        (client) => {
          backoff.succeeded(() => this.ready.get(endpoint) === client && !client.isClosed);
          this.host.restarted();
        },
        () => this.scheduleRestart(endpoint),
      );
    });
    if (delay !== undefined) this.logger.info({ endpoint: endpoint.label, delayMs: delay }, 'restarting pool process');
  }

  /** Stops every process and pending restart (a crash loop, or the server closing); sessions are placed again later. */
  async stop(reason: string): Promise<void> {
    for (const backoff of this.backoffs.values()) backoff.cancel();
    const clients = [...this.processes.values()];
    this.processes.clear();
    this.ready.clear();
    this.placements.clear();
    await Promise.allSettled(clients.map((client) => client.then((c) => c.close(reason))));
  }
}
