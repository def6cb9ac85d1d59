import { GatehouseError, uniqueIds } from '../../core/index.js';
import type { CounterStore } from './counter-store.js';

export interface SlotLimit {
  readonly max: number;
  /** Calls that may wait for a slot; more are refused at once. */
  readonly queue: number;
  readonly queueTimeoutMs: number;
}

export interface ConcurrencyGateOptions {
  readonly now: () => number;
  /** How long a slot stays held without renewal: what a crashed replica's calls hold slots for. */
  readonly leaseMs: number;
  /**
   * How often waiting calls look for a slot without being told one was freed: a lease that expired
   * (its replica died) frees a slot silently, and a shared store's notifications can be lost.
   */
  readonly pollMs: number;
}

interface Waiter {
  readonly leaseId: string;
  readonly resolve: (leaseId: string) => void;
  readonly reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
}

interface KeyQueue {
  readonly max: number;
  readonly waiters: Waiter[];
  draining: boolean;
  again: boolean;
}

/**
 * Concurrency limits: slots counted in the store (so replicas share them), and, in front of them, one
 * bounded FIFO queue per key in this process. A queue moves when a slot is freed (the store tells
 * every replica) and on a slow poll; the head always goes first, so waiting is fair within a replica.
 * Held slots are leases, renewed while their call runs, so a crashed replica's slots come back.
 */
export class ConcurrencyGate {
  private readonly queues = new Map<string, KeyQueue>();
  /** Leases held by calls running here: lease id → key. */
  private readonly held = new Map<string, string>();
  private renewTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private listening = false;
  /** Unique across replicas (a random prefix per process), as the shared store needs. */
  private readonly leaseIds = uniqueIds();

  constructor(
    private readonly store: CounterStore,
    private readonly options: ConcurrencyGateOptions,
  ) {}

  /**
   * Resolves with the lease id of a slot of `key`, at once or after waiting in the queue; rejects
   * with `refuse('full')` when the queue is full and `refuse('timeout')` when the wait is over.
   * Store failures reject with the store's error.
   */
  async acquire(key: string, limit: SlotLimit, refuse: (why: 'full' | 'timeout') => Error): Promise<string> {
    if (this.closed) throw new GatehouseError('shutting_down');
    const leaseId = this.leaseIds();
    // Nobody waiting: try for a slot at once. Somebody waiting: queue behind them (FIFO).
    if (!this.queues.has(key) && (await this.take(key, limit.max, leaseId))) return leaseId;
    if (this.closed) throw new GatehouseError('shutting_down');
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = { max: limit.max, waiters: [], draining: false, again: false };
      this.queues.set(key, queue);
    }
    if (queue.waiters.length >= limit.queue) {
      this.forgetIfIdle(key, queue);
      throw refuse('full');
    }
    const waiting = queue;
    const promise = new Promise<string>((resolve, reject) => {
      const waiter: Waiter = { leaseId, resolve, reject, timer: undefined, settled: false };
      waiter.timer = setTimeout(() => {
        waiter.settled = true;
        waiting.waiters.splice(waiting.waiters.indexOf(waiter), 1);
        this.forgetIfIdle(key, waiting);
        reject(refuse('timeout'));
      }, limit.queueTimeoutMs);
      waiting.waiters.push(waiter);
    });
    this.startPolling();
    if (!this.listening) {
      // Only once a call waits: a shared store opens a connection to listen.
      this.listening = true;
      void this.store.onSlotReleased((key) => void this.drain(key));
    }
    // A slot may have been freed between the failed take and joining the queue.
    void this.drain(key);
    return promise;
  }

  /** Frees a slot; the store tells every replica, and this one's queue moves at once. */
  async release(key: string, leaseId: string): Promise<void> {
    this.held.delete(leaseId);
    await this.store.releaseSlot(key, leaseId);
    void this.drain(key);
  }

  /** Refuses every waiting call and stops the timers. Idempotent. */
  close(): void {
    this.closed = true;
    clearInterval(this.pollTimer);
    this.stopRenewing();
    for (const queue of this.queues.values()) {
      for (const waiter of queue.waiters.splice(0)) {
        waiter.settled = true;
        clearTimeout(waiter.timer);
        waiter.reject(new GatehouseError('shutting_down'));
      }
    }
    this.queues.clear();
  }

  private async take(key: string, max: number, leaseId: string): Promise<boolean> {
    const now = this.options.now();
    if (!(await this.store.acquireSlot(key, max, leaseId, now + this.options.leaseMs, now))) return false;
    this.held.set(leaseId, key);
    this.startRenewing();
    return true;
  }

  /** Gives free slots to the queue's head, one by one; one drain per key at a time. */
  private async drain(key: string): Promise<void> {
    const queue = this.queues.get(key);
    if (queue === undefined) return;
    if (queue.draining) {
      queue.again = true;
      return;
    }
    queue.draining = true;
    try {
      do {
        queue.again = false;
        while (queue.waiters.length > 0 && !this.closed) {
          const head = queue.waiters[0]!;
          // A store failure leaves the head waiting: the poll tries again, the queue timeout bounds it.
          if (!(await this.take(key, queue.max, head.leaseId).catch(() => false))) break;
          if (head.settled) {
            // It timed out (and left the queue) while the slot was being taken: give the slot back.
            await this.release(key, head.leaseId).catch(() => undefined);
            continue;
          }
          queue.waiters.shift();
          head.settled = true;
          clearTimeout(head.timer);
          head.resolve(head.leaseId);
        }
      } while (queue.again && !this.closed);
    } finally {
      queue.draining = false;
      this.forgetIfIdle(key, queue);
    }
  }

  private forgetIfIdle(key: string, queue: KeyQueue): void {
    if (queue.waiters.length === 0 && !queue.draining && this.queues.get(key) === queue) this.queues.delete(key);
    if (this.queues.size === 0) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  private startPolling(): void {
    if (this.pollTimer !== undefined || this.closed) return;
    this.pollTimer = setInterval(() => {
      for (const key of this.queues.keys()) void this.drain(key);
    }, this.options.pollMs);
    this.pollTimer.unref();
  }

  private startRenewing(): void {
    if (this.renewTimer !== undefined || this.closed) return;
    // Renew well before expiry: two missed renewals still leave the lease standing. The timer stops
    // itself at a tick with nothing held, not at each release: one call at a time would otherwise
    // create and clear a timer per call.
    this.renewTimer = setInterval(() => {
      if (this.held.size === 0) {
        this.stopRenewing();
        return;
      }
      const leases = [...this.held].map(([leaseId, key]) => ({ key, leaseId }));
      void this.store.renewSlots(leases, this.options.now() + this.options.leaseMs).catch(() => undefined);
    }, Math.max(1, Math.floor(this.options.leaseMs / 3)));
    this.renewTimer.unref();
  }

  private stopRenewing(): void {
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }
}
