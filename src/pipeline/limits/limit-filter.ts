import { GatehouseError, type Identity } from '../../core/index.js';
import { Method } from '../../protocol/index.js';
import type { CallContext, CallTarget } from '../call-context.js';
import type { Filter } from '../filter-chain.js';
import { ConcurrencyGate, type SlotLimit } from './concurrency-gate.js';
import type { CounterCheck, CounterStore } from './counter-store.js';
import { compileLimitRule, quotaWindow, type CompiledLimitRule, type LimitRule } from './limit-rules.js';

export interface LimitFilterOptions {
  readonly rules: readonly LimitRule[];
  readonly store: CounterStore;
  /** When the store fails: let the call through (and warn), or refuse it with `limits_unavailable`. */
  readonly onStoreError: 'allow' | 'refuse';
  readonly warn: (message: string, detail: Record<string, unknown>) => void;
  /** The clock (epoch ms); injectable for tests. */
  readonly now?: () => number;
  /** Lease of a concurrency slot, renewed every third of it while the call runs. */
  readonly leaseMs?: number;
  readonly pollMs?: number;
}

/** Only calls that name what they use are counted; lists, pings and the rest pass untouched. */
const LIMITED_METHODS: ReadonlySet<string> = new Set([Method.toolsCall, Method.promptsGet, Method.resourcesRead]);
const LEASE_MS = 30_000;
const POLL_MS = 250;
/** A concurrency refusal cannot know when a slot frees (calls end when they end): a hint, not a promise. */
const CONCURRENCY_RETRY_HINT_MS = 1_000;
/** At most one "store unavailable" warning per this long, not one per call. */
const WARN_EVERY_MS = 10_000;

/** A rule as the filter runs it: its concurrency limit and refusals made once, not per call. */
interface ActiveRule {
  readonly compiled: CompiledLimitRule;
  readonly slots: SlotLimit | undefined;
  readonly refuseSlot: (why: 'full' | 'timeout') => GatehouseError;
}

interface Matched {
  readonly active: ActiveRule;
  readonly key: string;
}

/**
 * The limits filter: for every rule a call matches, a concurrency slot (waiting in a bounded queue if
 * need be), then the rate and quota counters of all matched rules taken at once (all or nothing). A
 * call over a limit fails with a catalogue error whose data names the rule, the limit and when to retry.
 */
export class LimitFilter<Outcome> implements Filter<CallContext, Outcome> {
  readonly name = 'limits';
  /** Replaced whole by setRules (the admin API, another replica, the config file); a call keeps the array it started with. */
  private rules: readonly ActiveRule[];
  private readonly gate: ConcurrencyGate;
  private readonly now: () => number;
  private lastWarning = -Infinity;

  constructor(private readonly options: LimitFilterOptions) {
    this.rules = activeRules(options.rules);
    this.now = options.now ?? Date.now;
    this.gate = new ConcurrencyGate(options.store, { now: this.now, leaseMs: options.leaseMs ?? LEASE_MS, pollMs: options.pollMs ?? POLL_MS });
  }

  /**
   * Applies a new set of rules from the next call on. Counters are keyed by rule name, so a rule that
   * is replaced keeps what it counted so far; calls under way finish under the rules they started with.
   */
  setRules(rules: readonly LimitRule[]): void {
    this.rules = activeRules(rules);
  }

  handle(context: CallContext, next: () => Promise<Outcome>): Promise<Outcome> {
    // No rules (none in the file, none made through the API yet): the filter stays in the chain, at
    // the cost of this check and no promise of its own, so a rule added later applies without
    // rebuilding the chain.
    if (this.rules.length === 0 || !LIMITED_METHODS.has(context.request.method)) return next();
    return this.limit(context, next);
  }

  private async limit(context: CallContext, next: () => Promise<Outcome>): Promise<Outcome> {
    const target = await context.target();
    // An unknown name is refused by the router as if it did not exist; it is not a call to count.
    if (target === undefined) return next();
    const matched = this.matching(context.session.identity, target, context.clientAddress);
    if (matched.length === 0) return next();
    const leases: { key: string; leaseId: string }[] = [];
    // Tracing on and counters in Redis: the round trips (slots, then counters) are a span of their own.
    const step = context.trace === undefined || this.options.store.kind === 'memory' ? undefined : context.trace.step('limits', { 'gatehouse.limits.store': this.options.store.kind });
    try {
      for (const { active, key } of matched) {
        if (active.slots === undefined) continue;
        const slotKey = `c|${key}`;
        const leaseId = await this.guard(this.gate.acquire(slotKey, active.slots, active.refuseSlot));
        if (leaseId !== undefined) leases.push({ key: slotKey, leaseId });
      }
      // A client that went away while its call waited for a slot gets nothing run on its behalf.
      if (leases.length > 0 && context.session.closed) throw new GatehouseError('request_cancelled');
      await this.count(matched);
      step?.end();
      return await next();
    } catch (error) {
      // A refusal ends the step as failed; after next() the step has ended already and this does nothing.
      step?.end(error instanceof GatehouseError ? error.code : 'internal');
      throw error;
    } finally {
      for (const { key, leaseId } of leases) void this.gate.release(key, leaseId).catch((error: unknown) => this.storeFailed(error, false));
    }
  }

  /** Refuses waiting calls and closes the store. */
  async close(): Promise<void> {
    this.gate.close();
    await this.options.store.close();
  }

  private matching(identity: Identity, target: CallTarget, client: string): Matched[] {
    const matched: Matched[] = [];
    for (const active of this.rules) {
      if (active.compiled.matches(identity, target)) matched.push({ active, key: active.compiled.counterKey(identity, target, client) });
    }
    return matched;
  }

  /** Rates and quotas of every matched rule in one atomic take. */
  private async count(matched: readonly Matched[]): Promise<void> {
    const now = this.now();
    const checks: CounterCheck[] = [];
    /** The rule each check belongs to, to name it in a refusal. */
    const owners: LimitRule[] = [];
    for (const { active, key } of matched) {
      const { rule } = active.compiled;
      const { rate, quota } = rule;
      if (rate !== undefined) {
        checks.push({ kind: 'rate', key: `r|${key}`, capacity: rate.burst ?? rate.requests, requests: rate.requests, perMs: rate.per });
        owners.push(rule);
      }
      if (quota !== undefined) {
        const window = quotaWindow(quota.per, now);
        // The window's start is in the key: a new window is a new counter, and the old one expires.
        checks.push({ kind: 'quota', key: `q|${key}|${window.start}`, limit: quota.requests, windowEnd: window.end });
        owners.push(rule);
      }
    }
    if (checks.length === 0) return;
    const result = await this.guard(this.options.store.take(checks, now));
    if (result !== undefined && !result.allowed) throw counterRefusal(owners[result.index]!, checks[result.index]!, result.retryAfterMs);
  }

  /** A store call; when the store fails: undefined (let the call through) or `limits_unavailable`. */
  private async guard<T>(operation: Promise<T>): Promise<T | undefined> {
    try {
      return await operation;
    } catch (error) {
      if (error instanceof GatehouseError) throw error;
      this.storeFailed(error, this.options.onStoreError === 'refuse');
      return undefined;
    }
  }

  private storeFailed(error: unknown, refuse: boolean): void {
    const now = Date.now();
    if (now - this.lastWarning >= WARN_EVERY_MS) {
      this.lastWarning = now;
      this.options.warn(refuse ? 'limit counters unavailable: refusing calls' : 'limit counters unavailable: calls pass unlimited', {
        store: this.options.store.kind,
        reason: error instanceof Error ? error.message : String(error),
      });
    }
    if (refuse) throw new GatehouseError('limits_unavailable');
  }
}

function activeRules(rules: readonly LimitRule[]): ActiveRule[] {
  return rules.map((rule) => {
    const { concurrency } = rule;
    return {
      compiled: compileLimitRule(rule),
      slots: concurrency && { max: concurrency.max, queue: concurrency.queue, queueTimeoutMs: concurrency.queueTimeout },
      refuseSlot: (why: 'full' | 'timeout') => concurrencyRefusal(rule, why),
    };
  });
}

function counterRefusal(rule: LimitRule, check: CounterCheck, retryAfterMs: number): GatehouseError {
  if (check.kind === 'rate') {
    const rate = rule.rate!;
    return new GatehouseError('rate_limited', `Rule "${rule.name}" allows ${calls(rate.requests)} per ${describeMs(rate.per)}.`, {
      rule: rule.name,
      limit: 'rate',
      retryAfterMs,
      requests: rate.requests,
      perMs: rate.per,
      burst: rate.burst ?? rate.requests,
    });
  }
  const quota = rule.quota!;
  return new GatehouseError('quota_exceeded', `Rule "${rule.name}" allows ${calls(quota.requests)} per ${quota.per} (UTC).`, {
    rule: rule.name,
    limit: 'quota',
    retryAfterMs,
    requests: quota.requests,
    per: quota.per,
    resetsAt: new Date(check.windowEnd).toISOString(),
  });
}

function concurrencyRefusal(rule: LimitRule, why: 'full' | 'timeout'): GatehouseError {
  const limit = rule.concurrency!;
  const detail =
    why === 'full'
      ? `Rule "${rule.name}" allows ${limit.max} at once${limit.queue > 0 ? ` and ${limit.queue} waiting` : ''}.`
      : `Rule "${rule.name}" allows ${limit.max} at once; this call waited ${describeMs(limit.queueTimeout)} for a turn.`;
  return new GatehouseError('concurrency_limited', detail, {
    rule: rule.name,
    limit: 'concurrency',
    retryAfterMs: CONCURRENCY_RETRY_HINT_MS,
    max: limit.max,
    queue: limit.queue,
    ...(why === 'timeout' ? { waitedMs: limit.queueTimeout } : {}),
  });
}

function calls(count: number): string {
  return count === 1 ? '1 call' : `${count} calls`;
}

/** 60000 → "1m", 1500 → "1500ms": for messages a person reads. */
function describeMs(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
