import type { AuditCall, AuditEntry, AuditLink, AuditStore } from '../../registry/index.js';

/**
 * Writes audit records off the hot path (DESIGN principle 2): a call's record joins a bounded queue
 * and is written with others in one transaction when `batch` records are waiting or every `flushMs`,
 * whichever comes first. Preparing a record (redaction, serialisation, sizes) happens in that batch
 * too, a turn of the event loop after the call, so a caller waits for none of it.
 *
 * The queue never grows past `max`. When it is full, `block` makes the call that would overflow it
 * wait for room (nothing is lost; callers slow down to what the database can take) and `drop` throws
 * the record away and counts it (`dropped`); an intent written for a dropped call then stays without
 * an outcome (the store is told: `abandonAuditIntents`), which is what the trail then honestly knows.
 */

/** Where warnings go: pino's signature, so the gateway's logger fits (pipeline does not import observability). */
export interface AuditLogger {
  warn(detail: Record<string, unknown>, message: string): void;
  error(detail: Record<string, unknown>, message: string): void;
}

/** A copy of each written batch elsewhere (observability/audit-sink.ts): the entries as written (`intentId` is the row id of an intent the entry completed). */
export interface AuditRecordSink {
  write(records: readonly object[]): void;
  close(): Promise<void>;
}

export interface AuditWriterOptions {
  readonly store: AuditStore;
  readonly replicaId: string;
  readonly max: number;
  readonly batch: number;
  readonly flushMs: number;
  readonly overload: 'block' | 'drop';
  /** Records older than this are pruned (every PRUNE_INTERVAL_MS); undefined keeps them forever. */
  readonly retentionMs?: number | undefined;
  /** At most about this many records are kept: the oldest beyond it are pruned likewise. */
  readonly maxRecords?: number | undefined;
  readonly sinks?: readonly AuditRecordSink[];
  readonly logger: AuditLogger;
  readonly now?: () => number;
}

/** A record not yet prepared: what the call left, turned into an entry in the batch. */
export interface PreparableEntry {
  /** The intent written before the call, if one was. */
  readonly intentId?: number | undefined;
  prepare(): Promise<AuditEntry | undefined>;
}

type Queued = AuditEntry | PreparableEntry;

interface PendingIntent {
  readonly call: AuditCall;
  readonly resolve: (id: number) => void;
  readonly reject: (error: unknown) => void;
}

// Often enough that `maxRecords` is not overshot by much on a busy gateway; cheap when nothing goes.
const PRUNE_INTERVAL_MS = 10 * 60 * 1000;
/** Failed writes are retried on the next tick; the error is logged at most this often. */
const ERROR_LOG_INTERVAL_MS = 30_000;

export class AuditWriter {
  /** Records waiting: prepared entries, or functions that prepare them. */
  private queue: Queued[] = [];
  /** Calls blocked by a full queue (overload `block`), each admitted when there is room. */
  private waiters: (() => void)[] = [];
  /** Intents asked for in this turn of the event loop, written together at its end. */
  private intents: PendingIntent[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** The last write failed (the database is away): flush() stops rather than retrying at once. */
  private failing = false;
  private lastErrorLog = 0;
  private head: AuditLink | undefined;
  /** Records thrown away because the queue was full (overload `drop`). */
  dropped = 0;
  /** Records written, since start. */
  written = 0;

  private readonly sinks: AuditRecordSink[];

  constructor(private readonly options: AuditWriterOptions) {
    this.sinks = [...(options.sinks ?? [])];
  }

  /** Adds a copy of every batch written from now on; closed by close(). */
  addSink(sink: AuditRecordSink): void {
    this.sinks.push(sink);
  }

  get replicaId(): string {
    return this.options.replicaId;
  }

  /** Records waiting to be written. */
  get depth(): number {
    return this.queue.length;
  }

  /**
   * Completes the intents a previous run of this replica left without an outcome (it was killed), as
   * outcome `unknown`, then starts the flush and prune timers.
   */
  async start(): Promise<void> {
    const { store, replicaId, flushMs, retentionMs } = this.options;
    const pending = await store.pendingAudit(replicaId);
    if (pending.length > 0) {
      const entries: AuditEntry[] = pending.map(({ id, outcome: _outcome, seq: _seq, prevHash: _prevHash, hash: _hash, ...call }) => ({
        ...call,
        intentId: id,
        outcome: 'unknown',
        errorCode: null,
        resultBytes: null,
        isError: null,
        result: null,
        latencyMs: null,
      }));
      this.head = await store.appendAudit(replicaId, entries);
      this.options.logger.warn({ replicaId, calls: pending.length }, 'audit: calls of a previous run had no recorded outcome (the gateway stopped during them); recorded as outcome "unknown"');
    } else {
      this.head = await store.auditHead(replicaId);
    }
    this.timer = setInterval(() => void this.tick(), flushMs);
    this.timer.unref();
    if (retentionMs !== undefined || this.options.maxRecords !== undefined) {
      void this.prune();
      this.pruneTimer = setInterval(() => void this.prune(), PRUNE_INTERVAL_MS);
      this.pruneTimer.unref();
    }
  }

  /**
   * Writes the intent of a call with side effects, durable before the call goes upstream.
   *
   * When no other call is in flight (`concurrent` false), at once where the store can
   * (insertAuditIntentNow: SQLite's journal), else at the end of this synchronous run (a JSON-RPC
   * batch's calls together; one statement on PostgreSQL). Waiting for the end of the event loop's
   * turn there would cost a turn of the loop per call (~28 µs of CPU at concurrency 1, measured).
   *
   * When other calls are in flight, intents asked for in this turn of the event loop (requests that
   * arrived together) are written together at its end (setImmediate): one write for all of them. The
   * loop is busy then anyway, so the wait costs no extra turn; a write saved costs ~12 µs of CPU
   * (measured at C=16: the write to the journal, against the gateway with it skipped).
   */
  intent(call: AuditCall, concurrent = false): Promise<number> | number {
    const now = this.options.store.insertAuditIntentNow;
    if (now !== undefined && !concurrent && this.intents.length === 0) return now(call);
    return new Promise((resolve, reject) => {
      if (this.intents.push({ call, resolve, reject }) === 1) {
        if (concurrent) setImmediate(this.writeIntents);
        else queueMicrotask(this.writeIntents);
      }
    });
  }

  private readonly writeIntents = (): void => {
    const intents = this.intents;
    this.intents = [];
    this.options.store.insertAuditIntents(intents.map((intent) => intent.call)).then(
      (ids) => {
        for (const [index, intent] of intents.entries()) intent.resolve(ids[index]!);
      },
      (error: unknown) => {
        for (const intent of intents) intent.reject(error);
      },
    );
  };

  /**
   * Queues a record. Returns undefined when it was taken (or dropped) at once; with overload `block`
   * and a full queue, a promise that resolves once it is queued.
   */
  accept(entry: Queued): Promise<void> | undefined {
    if (this.queue.length < this.options.max && this.waiters.length === 0) {
      this.push(entry);
      return undefined;
    }
    if (this.options.overload === 'drop' || this.closed) {
      this.dropped += 1;
      if (entry.intentId !== undefined) this.options.store.abandonAuditIntents?.([entry.intentId]);
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.waiters.push(() => {
        this.push(entry);
        resolve();
      });
    });
  }

  private push(entry: Queued): void {
    this.queue.push(entry);
    if (this.queue.length >= this.options.batch) void this.tick();
  }

  /** Writes everything queued now; resolves when it is written (or a write failed and was logged). */
  async flush(): Promise<void> {
    await this.tick();
    while (this.queue.length > 0 && !this.failing) await this.tick();
  }

  /** One round of writing (the timer's and a full batch's): a batch, and more while full batches wait. */
  private tick(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async drain(): Promise<void> {
    const { store, replicaId, batch } = this.options;
    // One batch, then more only while full batches wait (or at close): records that arrive during a
    // write wait for the next tick, so a steady stream is written in few large transactions rather
    // than many small ones (measured: batches of ~13 records cost ~3× the CPU per record of batches of 500).
    while (this.queue.length > 0) {
      const taken = this.queue.splice(0, batch);
      const entries: AuditEntry[] = [];
      for (const item of taken) {
        try {
          const entry = 'prepare' in item ? await item.prepare() : item;
          if (entry !== undefined) entries.push(entry);
        } catch (error) {
          this.logError(error, 'audit: a record could not be prepared');
        }
      }
      try {
        const head = await store.appendAudit(replicaId, entries);
        this.failing = false;
        this.checkHead(head, entries.length);
        this.written += entries.length;
        for (const sink of this.sinks) sink.write(entries);
      } catch (error) {
        // The database is away: keep the prepared entries at the front and try again on the next tick.
        // The queue stays bounded (accept() counts them), so a long outage blocks or drops new calls.
        this.queue.unshift(...entries);
        this.failing = true;
        this.logError(error, 'audit: records could not be written; retrying');
        this.admitWaiters();
        return;
      }
      this.admitWaiters();
      if (this.queue.length < batch && !this.closed) return;
    }
  }

  /**
   * The chain's head must move by exactly what was appended. Anything else means rows of this chain
   * were written or deleted by someone else (the newest rows deleted, or a second process using the
   * same replica id): logged, because `verify` cannot see a truncated tail by itself.
   */
  private checkHead(head: AuditLink | undefined, appended: number): void {
    const before = this.head;
    this.head = head;
    if (head === undefined || appended === 0) return;
    const expected = (before?.seq ?? 0) + appended;
    if (head.seq !== expected) {
      this.options.logger.warn(
        { replicaId: head.replicaId, expectedSeq: expected, foundSeq: head.seq },
        'audit: the chain\'s head moved unexpectedly: rows were deleted, or another process writes with the same audit.replicaId',
      );
    }
  }

  private admitWaiters(): void {
    while (this.waiters.length > 0 && this.queue.length < this.options.max) this.waiters.shift()!();
  }

  /** Logs a failure of the audit path, at most every 30 s (a database outage would otherwise log every call). */
  logError(error: unknown, message: string): void {
    const now = (this.options.now ?? Date.now)();
    if (now - this.lastErrorLog < ERROR_LOG_INTERVAL_MS) return;
    this.lastErrorLog = now;
    this.options.logger.error({ reason: error instanceof Error ? error.message : String(error), queued: this.queue.length, dropped: this.dropped }, message);
  }

  /** Deletes records past the retention (keeping each chain verifiable from its new anchor). */
  /** Deletes what is older than the retention or beyond the newest `maxRecords`, whichever reaches further. */
  async prune(): Promise<number> {
    const { retentionMs, maxRecords, store } = this.options;
    if (retentionMs === undefined && maxRecords === undefined) return 0;
    try {
      let before = retentionMs === undefined ? '' : new Date((this.options.now ?? Date.now)() - retentionMs).toISOString();
      const oldestKept = maxRecords === undefined ? undefined : await store.auditTimeOfNewest(maxRecords);
      // ISO-8601 UTC times order as text.
      if (oldestKept !== undefined && oldestKept > before) before = oldestKept;
      return before === '' ? 0 : await store.pruneAudit(before);
    } catch (error) {
      this.logError(error, 'audit: pruning failed; retrying at the next interval');
      return 0;
    }
  }

  /** Stops the timers and writes what is queued (blocked calls included), then closes the sinks. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return this.flushing;
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.pruneTimer);
    // Whatever is blocked goes in now: the queue's bound matters less than losing records at shutdown.
    for (const admit of this.waiters.splice(0)) admit();
    await this.flush();
    await Promise.allSettled(this.sinks.map((sink) => sink.close()));
  }
}
