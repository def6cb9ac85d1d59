import type { Pool } from 'undici';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.js';

/**
 * How long an observed latency keeps its weight: an endpoint's EWMA is mostly the last ~10 s of calls
 * (Finagle's and linkerd's default decay), and after a quiet spell the next call counts almost alone.
 */
export const EWMA_DECAY_MS = 10_000;

/**
 * One endpoint (replica) of a server: its keep-alive pool, its own circuit breaker, and what the
 * balancer reads of it: the latency of its recent successful calls (an EWMA), and its load.
 */
export class UpstreamEndpoint {
  /** Exponentially weighted moving average of successful calls' latency; undefined before the first. */
  ewmaMs: number | undefined;
  private sampledAt = 0;
  /** Refreshed from the live clients whenever the balancer picks (and for the admin API). */
  inflight = 0;
  /** Upstream sessions placed here (every client bound to this endpoint, the shared one included). */
  sessions = 0;
  /** The last connection to it failed; cleared by the next success. */
  down = false;
  /** It failed its last health check (healthPath, or a ping on a session placed on it); cleared by the next that passes. */
  unhealthy = false;
  lastError: string | undefined;

  constructor(
    /** The endpoint's URL; undefined for a stdio server (one endpoint: its process). */
    readonly url: URL | undefined,
    /** What the admin API and logs call it: the URL, or the command. */
    readonly label: string,
    readonly weight: number,
    readonly pool: Pool | undefined,
    readonly breaker: CircuitBreaker,
  ) {}

  static create(server: string, url: URL | undefined, label: string, weight: number, pool: Pool | undefined, breaker: Omit<CircuitBreakerOptions, 'now'>): UpstreamEndpoint {
    return new UpstreamEndpoint(url, label, weight, pool, new CircuitBreaker(server, breaker));
  }

  /**
   * Adds a successful call's latency. The weight of the past decays with the time since the last
   * sample (not per sample), so a burst does not erase history and a quiet endpoint relearns at once.
   * Plain EWMA, not Finagle's peak EWMA: MCP tools differ by orders of magnitude (a lookup vs a
   * minutes-long export), and a peak would let one long tool mark a healthy replica slow.
   */
  observe(latencyMs: number, now: number = performance.now()): void {
    if (this.ewmaMs === undefined) this.ewmaMs = latencyMs;
    else {
      const keep = Math.exp(-Math.max(0, now - this.sampledAt) / EWMA_DECAY_MS);
      this.ewmaMs = this.ewmaMs * keep + latencyMs * (1 - keep);
    }
    this.sampledAt = now;
  }

  /** A connection or a call reached it. */
  reached(): void {
    this.down = false;
  }

  /** A connection to it failed. */
  failed(reason: string): void {
    this.down = true;
    this.lastError = reason;
  }

  /** What a health check found. */
  checked(failure: string | undefined): void {
    this.unhealthy = failure !== undefined;
    if (failure !== undefined) this.lastError = failure;
  }

  /** Neither its last connection nor its last health check failed. */
  get healthy(): boolean {
    return !this.down && !this.unhealthy;
  }
}
