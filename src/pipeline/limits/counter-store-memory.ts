import { bucketFillMs, type CounterCheck, type CounterStore, type SlotLease, type TakeResult } from './counter-store.js';

interface Bucket {
  tokens: number;
  at: number;
  /** After this, the bucket is full again and its entry can go. */
  fullAt: number;
}

interface Count {
  count: number;
  windowEnd: number;
}

/** Sweep stale entries once per this many calls: amortised O(1), memory bounded by active keys. */
const SWEEP_EVERY = 4096;

/**
 * Counters in this process: the default, exact for one replica. The arithmetic is the same, number
 * for number, as the Redis scripts' (cluster/counter-store-redis.ts), which the contract suite checks.
 */
export class MemoryCounterStore implements CounterStore {
  readonly kind = 'memory';
  private readonly buckets = new Map<string, Bucket>();
  private readonly counts = new Map<string, Count>();
  private readonly slots = new Map<string, Map<string, number>>();
  private readonly listeners: ((key: string) => void)[] = [];
  private calls = 0;

  take(checks: readonly CounterCheck[], now: number): Promise<TakeResult> {
    if (++this.calls % SWEEP_EVERY === 0) this.sweep(now);
    const next: number[] = [];
    for (let index = 0; index < checks.length; index++) {
      const check = checks[index]!;
      if (check.kind === 'rate') {
        const bucket = this.buckets.get(check.key);
        let tokens = bucket?.tokens ?? check.capacity;
        // A clock behind the last one (another replica's) refills nothing rather than going negative.
        if (bucket !== undefined && now > bucket.at) tokens = Math.min(check.capacity, tokens + ((now - bucket.at) * check.requests) / check.perMs);
        if (tokens < 1) return Promise.resolve({ allowed: false, index, retryAfterMs: Math.ceil(((1 - tokens) * check.perMs) / check.requests) });
        next.push(tokens - 1);
      } else {
        const count = this.counts.get(check.key)?.count ?? 0;
        if (count >= check.limit) return Promise.resolve({ allowed: false, index, retryAfterMs: check.windowEnd - now });
        next.push(count + 1);
      }
    }
    checks.forEach((check, index) => {
      if (check.kind === 'rate') {
        const at = Math.max(now, this.buckets.get(check.key)?.at ?? now);
        this.buckets.set(check.key, { tokens: next[index]!, at, fullAt: at + bucketFillMs(check) });
      } else {
        this.counts.set(check.key, { count: next[index]!, windowEnd: check.windowEnd });
      }
    });
    return Promise.resolve({ allowed: true });
  }

  acquireSlot(key: string, max: number, leaseId: string, expiresAt: number, now: number): Promise<boolean> {
    let leases = this.slots.get(key);
    if (leases === undefined) {
      leases = new Map();
      this.slots.set(key, leases);
    }
    dropExpired(leases, now);
    if (!leases.has(leaseId) && leases.size >= max) return Promise.resolve(false);
    leases.set(leaseId, expiresAt);
    return Promise.resolve(true);
  }

  renewSlots(leases: readonly SlotLease[], expiresAt: number): Promise<void> {
    for (const { key, leaseId } of leases) {
      const held = this.slots.get(key);
      if (held?.has(leaseId)) held.set(leaseId, expiresAt);
    }
    return Promise.resolve();
  }

  releaseSlot(key: string, leaseId: string): Promise<void> {
    const leases = this.slots.get(key);
    if (leases?.delete(leaseId)) {
      if (leases.size === 0) this.slots.delete(key);
      // After the caller's await, as a shared store's notification would arrive.
      for (const listener of this.listeners) queueMicrotask(() => listener(key));
    }
    return Promise.resolve();
  }

  slotsInUse(key: string, now: number): Promise<number> {
    const leases = this.slots.get(key);
    if (leases === undefined) return Promise.resolve(0);
    dropExpired(leases, now);
    return Promise.resolve(leases.size);
  }

  onSlotReleased(listener: (key: string) => void): Promise<void> {
    this.listeners.push(listener);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.buckets.clear();
    this.counts.clear();
    this.slots.clear();
    return Promise.resolve();
  }

  private sweep(now: number): void {
    for (const [key, bucket] of this.buckets) if (bucket.fullAt <= now) this.buckets.delete(key);
    for (const [key, count] of this.counts) if (count.windowEnd <= now) this.counts.delete(key);
    for (const [key, leases] of this.slots) {
      dropExpired(leases, now);
      if (leases.size === 0) this.slots.delete(key);
    }
  }
}

/** A lease whose time is up (expiresAt <= now) is gone: the same rule as the Redis script's. */
function dropExpired(leases: Map<string, number>, now: number): void {
  for (const [leaseId, expiresAt] of leases) if (expiresAt <= now) leases.delete(leaseId);
}
