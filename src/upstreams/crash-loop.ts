export interface CrashLoopOptions {
  /** Unplanned exits tolerated within `windowMs`; one more is a loop. 0 turns detection off. */
  maxRestarts: number;
  windowMs: number;
  /** How long a server in a crash loop is left down before it is started again. */
  cooldownMs: number;
}

/**
 * Counts a server's unplanned process exits (crashes and failed starts). More than `maxRestarts`
 * within `windowMs` is a crash loop: restarting it again would only burn CPU and fill the logs, so
 * nothing is spawned until `cooldownMs` has passed.
 */
export class CrashLoop {
  private readonly exits: number[] = [];
  /** Epoch ms before which nothing is spawned; 0 when not in a loop. */
  blockedUntil = 0;

  constructor(
    readonly options: CrashLoopOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records one unplanned exit; true when it makes a crash loop (the server is then blocked). */
  record(): boolean {
    if (this.options.maxRestarts === 0) return false;
    const now = this.now();
    this.exits.push(now);
    while (this.exits.length > 0 && this.exits[0]! <= now - this.options.windowMs) this.exits.shift();
    if (this.exits.length <= this.options.maxRestarts) return false;
    this.exits.length = 0;
    this.blockedUntil = now + this.options.cooldownMs;
    return true;
  }

  /** Whether the server is in a loop's cool-down now. */
  get blocked(): boolean {
    return this.blockedUntil !== 0 && this.now() < this.blockedUntil;
  }

  /** The cool-down is over: spawning is allowed again, with a fresh count. */
  end(): void {
    this.blockedUntil = 0;
    this.exits.length = 0;
  }

  /** Why nothing is spawned, for lastError, /readyz and the error a call gets. */
  get reason(): string {
    const { maxRestarts, windowMs } = this.options;
    return `crash loop: more than ${maxRestarts} restarts within ${windowMs / 1000} s; not restarted before ${new Date(this.blockedUntil).toISOString()}`;
  }
}
