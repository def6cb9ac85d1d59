import { GatehouseError } from '../core/index.js';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit; 0 turns the breaker off. */
  readonly consecutiveFailures: number;
  /** Failure share over the recent window that opens it, once `minimumCalls` calls were seen (0 turns this test off). */
  readonly failureRate: number;
  readonly minimumCalls: number;
  /** How many recent outcomes the failure rate is taken over. */
  readonly window: number;
  /** How long it stays open before letting one trial call through (half-open). */
  readonly openMs: number;
  readonly now?: () => number;
}

export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * A circuit breaker per upstream: after repeated transport failures or timeouts (not tool errors:
 * those are answers) calls fail at once instead of waiting on a server that is down, which keeps one
 * failing server from holding every client's calls and the gateway's sockets. After `openMs` one
 * trial call goes through (half-open): its success closes the circuit, its failure opens it again.
 */
export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private consecutive = 0;
  /** The last `window` outcomes, true for a failure, as a ring. */
  private readonly outcomes: boolean[] = [];
  private next = 0;
  private openedAt = 0;
  private trialInFlight = false;
  private trialStartedAt = 0;
  /** How many times it opened, for the admin API and metrics. */
  opens = 0;
  private readonly now: () => number;

  constructor(
    private readonly server: string,
    private readonly options: CircuitBreakerOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.options.openMs) return 'half-open';
    return this.current;
  }

  /** Whether admit() would let a call through now (closed, or half-open with no trial under way); changes nothing. */
  get available(): boolean {
    if (this.options.consecutiveFailures === 0 || this.current === 'closed') return true;
    return this.state === 'half-open' && (!this.trialInFlight || this.now() - this.trialStartedAt >= this.options.openMs);
  }

  /** Lets a call through, or throws `upstream_unavailable` with when to retry; a trial call when half-open. */
  admit(): void {
    if (this.options.consecutiveFailures === 0 || this.current === 'closed') return;
    const state = this.state;
    // A trial whose outcome never came (the client cancelled it) does not pause the server for good.
    if (state === 'half-open' && (!this.trialInFlight || this.now() - this.trialStartedAt >= this.options.openMs)) {
      this.current = 'half-open';
      this.trialInFlight = true;
      this.trialStartedAt = this.now();
      return;
    }
    const retryAfterMs = state === 'open' ? Math.max(0, this.openedAt + this.options.openMs - this.now()) : this.options.openMs;
    throw new GatehouseError('upstream_unavailable', `Server "${this.server}" is failing; calls to it are paused for up to ${Math.ceil(retryAfterMs / 1000)} s.`, {
      server: this.server,
      circuit: 'open',
      retryAfterMs,
    });
  }

  success(): void {
    this.consecutive = 0;
    this.record(false);
    if (this.current !== 'closed') {
      this.current = 'closed';
      this.trialInFlight = false;
      this.outcomes.length = 0;
      this.next = 0;
    }
  }

  failure(): void {
    this.consecutive++;
    this.record(true);
    if (this.options.consecutiveFailures === 0) return;
    if (this.current === 'half-open' || this.consecutive >= this.options.consecutiveFailures || this.rateExceeded()) this.open();
  }

  /** The server came back by itself (a restart, a health check): let a trial call through now. */
  recovered(): void {
    if (this.current === 'open') this.openedAt = this.now() - this.options.openMs;
  }

  private open(): void {
    if (this.current !== 'open') this.opens++;
    this.current = 'open';
    this.trialInFlight = false;
    this.openedAt = this.now();
  }

  private record(failed: boolean): void {
    if (this.options.window === 0) return;
    if (this.outcomes.length < this.options.window) this.outcomes.push(failed);
    else this.outcomes[this.next] = failed;
    this.next = (this.next + 1) % this.options.window;
  }

  private rateExceeded(): boolean {
    const { failureRate, minimumCalls } = this.options;
    if (failureRate === 0 || this.outcomes.length < minimumCalls) return false;
    let failures = 0;
    for (const failed of this.outcomes) if (failed) failures++;
    return failures / this.outcomes.length >= failureRate;
  }
}
