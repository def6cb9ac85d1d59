import { residentMemoryMb } from './process-memory.js';
import type { UpstreamClient } from './upstream-client.js';

export interface ProcessSupervisorOptions {
  /** A per-session process with no request for this long is stopped; 0: never. */
  idleShutdownMs: number;
  /** Resident memory (the process and its children) above which a process is replaced; undefined: no ceiling. */
  maxMemoryMb: number | undefined;
  memoryCheckIntervalMs: number;
}

/** What the supervisor watches and whom it tells: the server's Upstream. */
export interface SupervisedProcesses {
  /** Every live process of the server: the shared one, a pool's, the sessions'. */
  processes(): Iterable<UpstreamClient>;
  /** The sessions' own processes, which may be stopped when idle. */
  sessionProcesses(): Iterable<UpstreamClient>;
  stopIdle(client: UpstreamClient): void;
  overMemory(client: UpstreamClient, residentMb: number): void;
}

/** Idle checks run a few times per idle period, so a process outlives its limit by at most a quarter of it (and 30 s). */
const IDLE_CHECKS_PER_PERIOD = 4;
const MAX_IDLE_CHECK_MS = 30_000;
const MIN_IDLE_CHECK_MS = 25;

/**
 * Watches a stdio server's processes on two unref'd timers (neither keeps the gateway alive): stops
 * per-session processes that went idle, and samples every process's resident memory against the
 * ceiling. Costs nothing per call: idleness is read from the client's request counter.
 */
export class ProcessSupervisor {
  private idleTimer: NodeJS.Timeout | undefined;
  private memoryTimer: NodeJS.Timeout | undefined;
  private sampling = false;
  /** Each session process's request counter as last seen, and since when it has not moved. */
  private readonly seen = new WeakMap<UpstreamClient, { activity: number; since: number }>();

  constructor(
    private readonly options: ProcessSupervisorOptions,
    private readonly target: SupervisedProcesses,
  ) {}

  start(): void {
    const { idleShutdownMs, maxMemoryMb, memoryCheckIntervalMs } = this.options;
    if (idleShutdownMs > 0 && this.idleTimer === undefined) {
      const every = Math.min(MAX_IDLE_CHECK_MS, Math.max(MIN_IDLE_CHECK_MS, Math.floor(idleShutdownMs / IDLE_CHECKS_PER_PERIOD)));
      this.idleTimer = setInterval(() => this.checkIdle(), every);
      this.idleTimer.unref();
    }
    if (maxMemoryMb !== undefined && this.memoryTimer === undefined) {
      this.memoryTimer = setInterval(() => void this.checkMemory(maxMemoryMb), memoryCheckIntervalMs);
      this.memoryTimer.unref();
    }
  }

  private checkIdle(): void {
    const now = Date.now();
    for (const client of [...this.target.sessionProcesses()]) {
      if (client.isClosed) continue;
      const last = this.seen.get(client);
      if (last === undefined || last.activity !== client.activity || client.inflightCount > 0) {
        this.seen.set(client, { activity: client.activity, since: now });
        continue;
      }
      if (now - last.since >= this.options.idleShutdownMs) this.target.stopIdle(client);
    }
  }

  private async checkMemory(maxMemoryMb: number): Promise<void> {
    // A slow /proc (a loaded machine) never stacks samples up.
    if (this.sampling) return;
    this.sampling = true;
    try {
      for (const client of [...this.target.processes()]) {
        const pid = client.pid;
        if (pid === undefined || client.isClosed) continue;
        const residentMb = await residentMemoryMb(pid);
        if (residentMb !== undefined && residentMb > maxMemoryMb && !client.isClosed) this.target.overMemory(client, residentMb);
      }
    } finally {
      this.sampling = false;
    }
  }

  close(): void {
    clearInterval(this.idleTimer);
    clearInterval(this.memoryTimer);
    this.idleTimer = undefined;
    this.memoryTimer = undefined;
  }
}
