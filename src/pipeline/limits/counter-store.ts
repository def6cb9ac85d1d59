/**
 * Where limit counters live (DESIGN principle 3: an interface, an embedded and a shared
 * implementation, one contract suite). Every method takes the time from the caller: the same clock
 * drives every implementation, so the contract tests are deterministic for memory and Redis alike,
 * and a replica never depends on another's clock beyond the milliseconds NTP leaves between hosts
 * (a token bucket never refills on a clock that went backwards; see each implementation).
 */
export interface CounterStore {
  readonly kind: 'memory' | 'redis';

  /**
   * Checks every counter and, only when all allow, counts the call in all of them, atomically: a call
   * refused by one rule uses up nothing in the others (so a refused call never eats a quota), and
   * replicas sharing the store agree on every decision.
   */
  take(checks: readonly CounterCheck[], now: number): Promise<TakeResult>;

  /**
   * Takes one of `max` slots of `key` for `leaseId` until `expiresAt` (epoch ms), after dropping the
   * slots whose lease ran out by `now` (a crashed replica's slots come back that way). Taking a slot
   * the lease already holds renews it.
   */
  acquireSlot(key: string, max: number, leaseId: string, expiresAt: number, now: number): Promise<boolean>;

  /** Extends held leases (a long call keeps its slot); a lease already dropped (expired, then swept by an acquire) stays gone. */
  renewSlots(leases: readonly SlotLease[], expiresAt: number): Promise<void>;

  /** Frees a slot; listeners on every replica sharing the store hear about it. */
  releaseSlot(key: string, leaseId: string): Promise<void>;

  /** Slots of `key` held now (expired leases are not counted). */
  slotsInUse(key: string, now: number): Promise<number>;

  /**
   * Calls `listener` with the key of every slot freed (here or, for a shared store, on another
   * replica); resolves once it is listening. Best effort: waiters also poll.
   */
  onSlotReleased(listener: (key: string) => void): Promise<void>;

  /** Idempotent. */
  close(): Promise<void>;
}

export interface SlotLease {
  readonly key: string;
  readonly leaseId: string;
}

/**
 * A token bucket of `capacity` tokens refilled at `requests` per `perMs`: one token per call. The
 * state is two numbers (tokens, time), so a check is O(1) whatever the rate, and a caller who was
 * quiet may burst up to `capacity` calls, then goes at the refill rate (no window edge at which a
 * fixed window would allow twice the rate).
 */
export interface RateCheck {
  readonly kind: 'rate';
  readonly key: string;
  readonly capacity: number;
  readonly requests: number;
  readonly perMs: number;
}

/** A count of calls in the window [windowStart, windowEnd) (epoch ms); `key` already names the window. */
export interface QuotaCheck {
  readonly kind: 'quota';
  readonly key: string;
  readonly limit: number;
  readonly windowEnd: number;
}

export type CounterCheck = RateCheck | QuotaCheck;

export type TakeResult =
  | { readonly allowed: true }
  /** `index` is the check that refused; `retryAfterMs` when it would allow one call (nothing else changing). */
  | { readonly allowed: false; readonly index: number; readonly retryAfterMs: number };

/** How long a bucket takes to fill from empty: after that, no state is the same as a full bucket. */
export function bucketFillMs(check: RateCheck): number {
  return Math.ceil((check.capacity * check.perMs) / check.requests);
}
