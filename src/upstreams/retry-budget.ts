/**
 * A retry budget per server (Finagle's RetryBudget, tower's Budget): retries may add at most
 * `percent` on top of the requests of the last `windowMs`, plus a small reserve (`minPerSecond`) so
 * that a quiet server can still have a retry. A server that fails everything is then sent at most
 * ~1.2× its normal traffic, never 3× (two retries for every call): retries must not be what keeps a
 * struggling server down. Those are the defaults; `upstreamDefaults.retryBudget` and a server's own
 * `retryBudget` set them (registry/server-spec.ts).
 *
 * The hot path only counts (`deposit()` is one increment, no clock read); requests are placed in time
 * when a retry asks, taken as evenly spread since the previous ask.
 */
export interface RetryBudgetOptions {
  readonly percent: number;
  readonly minPerSecond: number;
  readonly windowMs: number;
  readonly now?: () => number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudgetOptions = { percent: 0.2, minPerSecond: 3, windowMs: 10_000 };

/** How many buckets the window is kept in. */
const SLOTS = 10;

export class RetryBudget {
  /** Requests since the last withdraw(), not yet placed in a slot. */
  private unplaced = 0;
  private readonly requests = new Float64Array(SLOTS);
  private readonly retries = new Float64Array(SLOTS);
  private slot = 0;
  private slotStartedAt: number;
  private lastAskAt: number;
  private readonly slotMs: number;
  private readonly now: () => number;

  constructor(private readonly options: RetryBudgetOptions = DEFAULT_RETRY_BUDGET) {
    this.now = options.now ?? Date.now;
    this.slotMs = options.windowMs / SLOTS;
    this.slotStartedAt = this.now();
    this.lastAskAt = this.slotStartedAt;
  }

  /** A request was sent (first attempts only). */
  deposit(): void {
    this.unplaced++;
  }

  /** Takes one retry from the budget; false when the budget is spent. */
  withdraw(): boolean {
    const now = this.now();
    this.place(now);
    let requests = 0;
    let retries = 0;
    for (let index = 0; index < SLOTS; index++) {
      requests += this.requests[index]!;
      retries += this.retries[index]!;
    }
    const allowed = (this.options.minPerSecond * this.options.windowMs) / 1000 + this.options.percent * requests;
    if (retries + 1 > allowed) return false;
    this.retries[this.slot]!++;
    return true;
  }

  /** Moves to the current slot, spreading the requests counted since the last ask over the time since. */
  private place(now: number): void {
    const sinceAsk = Math.max(0, now - this.lastAskAt);
    const unplaced = this.unplaced;
    this.unplaced = 0;
    this.lastAskAt = now;
    let elapsedSlots = Math.floor((now - this.slotStartedAt) / this.slotMs);
    if (elapsedSlots <= 0) {
      this.requests[this.slot]! += unplaced;
      return;
    }
    // Only the share of the unplaced requests that falls inside the window still counts.
    const inWindow = sinceAsk <= this.options.windowMs ? unplaced : (unplaced * this.options.windowMs) / sinceAsk;
    elapsedSlots = Math.min(elapsedSlots, SLOTS);
    for (let step = 0; step < elapsedSlots; step++) {
      this.slot = (this.slot + 1) % SLOTS;
      this.requests[this.slot] = 0;
      this.retries[this.slot] = 0;
    }
    this.slotStartedAt = now - ((now - this.slotStartedAt) % this.slotMs);
    // Spread evenly over the slots the asks spanned (at most the whole window), newest last.
    const spanSlots = Math.max(1, Math.min(SLOTS, Math.ceil(Math.min(sinceAsk, this.options.windowMs) / this.slotMs)));
    for (let step = 0; step < spanSlots; step++) this.requests[(this.slot - step + SLOTS) % SLOTS]! += inWindow / spanSlots;
  }
}

/** Backoff bounds: the first retry waits 25–50 ms, the second 50–100 ms, never more than 250 ms. */
export const RETRY_BASE_MS = 50;
export const RETRY_MAX_MS = 250;

/**
 * "Equal jitter" exponential backoff (AWS architecture blog): half the step is fixed, half random, so
 * retries of many calls that failed together do not arrive together, and none retries at once.
 */
export function retryBackoffMs(retry: number, random: () => number = Math.random): number {
  const step = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** retry);
  return step / 2 + random() * (step / 2);
}
