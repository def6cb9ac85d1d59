import { Redis, type RedisOptions } from 'ioredis';
import { bucketFillMs, type CounterCheck, type CounterStore, type SlotLease, type TakeResult } from '../pipeline/index.js';

/**
 * All-or-nothing take over rate buckets and quota counts, in one script so replicas agree: Redis runs
 * a script alone, so no other replica's take can slip between the checks and the writes.
 * KEYS: one per check. ARGV[1] = now; then 5 per check: "r", capacity, requests, per (ms), fill time (ms);
 * or "q", limit, window end, 0, 0.
 * The arithmetic is the memory store's, number for number (the contract suite runs both).
 * Tokens are written with %.17g, which round-trips a double exactly.
 */
const TAKE = `
local now = tonumber(ARGV[1])
local next = {}
for i = 1, #KEYS do
  local base = 1 + (i - 1) * 5
  if ARGV[base + 1] == 'r' then
    local capacity, requests, per = tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
    local state = redis.call('HMGET', KEYS[i], 'tokens', 'at')
    local tokens, at = tonumber(state[1]), tonumber(state[2])
    if tokens == nil or at == nil then
      tokens, at = capacity, now
    elseif now > at then
      tokens = math.min(capacity, tokens + (now - at) * requests / per)
    end
    if tokens < 1 then return {0, i - 1, math.ceil((1 - tokens) * per / requests)} end
    next[i] = {tokens - 1, math.max(at, now)}
  else
    local limit, windowEnd = tonumber(ARGV[base + 2]), tonumber(ARGV[base + 3])
    local count = tonumber(redis.call('GET', KEYS[i]) or '0')
    if count >= limit then return {0, i - 1, windowEnd - now} end
  end
end
for i = 1, #KEYS do
  local base = 1 + (i - 1) * 5
  if ARGV[base + 1] == 'r' then
    redis.call('HSET', KEYS[i], 'tokens', string.format('%.17g', next[i][1]), 'at', string.format('%.17g', next[i][2]))
    -- A full bucket is the same as none: let Redis forget it then (O(1) state per active key).
    redis.call('PEXPIREAT', KEYS[i], next[i][2] + tonumber(ARGV[base + 5]))
  else
    redis.call('INCR', KEYS[i])
    -- Kept a minute past the window's end, for replicas whose clocks run a little behind.
    redis.call('PEXPIREAT', KEYS[i], tonumber(ARGV[base + 3]) + 60000)
  end
end
return {1, -1, 0}
`;

/**
 * A slot is a member of a sorted set scored by its lease's expiry. KEYS[1]: the set.
 * ARGV: now, max, lease id, expiresAt. Expired leases (score <= now) are dropped first.
 */
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local held = redis.call('ZSCORE', KEYS[1], ARGV[3])
if not held and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], last[2])
return 1
`;

/** KEYS[1]: the set; ARGV: lease id, channel. Tells every replica which key has a free slot. */
const RELEASE = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 1 then redis.call('PUBLISH', ARGV[2], KEYS[1]) end
return 1
`;

/** KEYS: sets; ARGV[1]: expiresAt, then a lease id per key. XX: an expired (removed) lease stays gone. */
const RENEW = `
for i = 1, #KEYS do
  if redis.call('ZADD', KEYS[i], 'XX', 'CH', ARGV[1], ARGV[i + 1]) == 1 then
    local last = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
    redis.call('PEXPIREAT', KEYS[i], last[2])
  end
end
return 1
`;

/** KEYS[1]: the set; ARGV[1]: now. */
const IN_USE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZCARD', KEYS[1])
`;

type Script = (...args: (string | number)[]) => Promise<unknown>;

interface LimitScripts {
  gatehouseLimitsTake: Script;
  gatehouseLimitsAcquire: Script;
  gatehouseLimitsRelease: Script;
  gatehouseLimitsRenew: Script;
  gatehouseLimitsInUse: Script;
}

export interface RedisCounterStoreOptions {
  /** Prepended to every key and the release channel, so several gateways (or tests) can share a Redis. */
  readonly prefix?: string;
  /** A command that takes longer fails (and the limit filter applies `onStoreError`), rather than holding the call. */
  readonly commandTimeoutMs?: number;
}

/**
 * Counters in Redis, for replicas that must enforce one limit together. Every decision is one Lua
 * script run by EVALSHA (ioredis' defineCommand, which falls back to EVAL once after a Redis
 * restart), so it is atomic across replicas and costs one round trip.
 *
 * Time comes from the caller, not from Redis TIME: the store then behaves exactly as the memory one
 * under one injected clock (the contract tests are deterministic), and on NTP-synchronised hosts
 * replicas differ by milliseconds, which a bucket tolerates (it never refills on a clock behind the
 * last write) and a quota window only notices within those milliseconds of its edge.
 */
export class RedisCounterStore implements CounterStore {
  readonly kind = 'redis';
  private readonly redis: Redis & LimitScripts;
  private subscriber: Redis | undefined;
  private subscribed: Promise<void> | undefined;
  private readonly listeners: ((key: string) => void)[] = [];
  private readonly prefix: string;
  private readonly channel: string;
  private closing: Promise<void> | undefined;

  constructor(url: string, options: RedisCounterStoreOptions = {}) {
    this.prefix = options.prefix ?? 'gatehouse:limits:';
    this.channel = `${this.prefix}released`;
    this.redis = new Redis(url, this.connectionOptions(options)) as Redis & LimitScripts;
    // Errors reach the caller of each command; without a listener ioredis would also print them.
    this.redis.on('error', () => undefined);
    // Until the first connection, commands wait for it (up to the command timeout), so a gateway that
    // starts with Redis counts its first calls. Once connected, a lost connection fails commands at
    // once: every call would otherwise wait out the timeout while Redis is away.
    this.redis.once('ready', () => {
      this.redis.options.enableOfflineQueue = false;
    });
    this.redis.defineCommand('gatehouseLimitsTake', { lua: TAKE });
    this.redis.defineCommand('gatehouseLimitsAcquire', { lua: ACQUIRE, numberOfKeys: 1 });
    this.redis.defineCommand('gatehouseLimitsRelease', { lua: RELEASE, numberOfKeys: 1 });
    this.redis.defineCommand('gatehouseLimitsRenew', { lua: RENEW });
    this.redis.defineCommand('gatehouseLimitsInUse', { lua: IN_USE, numberOfKeys: 1 });
  }

  /** Resolves once connected: at once when it is, else at the next (re)connection. */
  ready(): Promise<void> {
    if (this.redis.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => this.redis.once('ready', () => resolve()));
  }

  async take(checks: readonly CounterCheck[], now: number): Promise<TakeResult> {
    const args: (string | number)[] = [checks.length];
    for (const check of checks) args.push(this.prefix + check.key);
    args.push(now);
    for (const check of checks) {
      if (check.kind === 'rate') args.push('r', check.capacity, check.requests, check.perMs, bucketFillMs(check));
      else args.push('q', check.limit, check.windowEnd, 0, 0);
    }
    const [allowed, index, retryAfterMs] = (await this.redis.gatehouseLimitsTake(...args)) as [number, number, number];
    return allowed === 1 ? { allowed: true } : { allowed: false, index, retryAfterMs };
  }

  async acquireSlot(key: string, max: number, leaseId: string, expiresAt: number, now: number): Promise<boolean> {
    return (await this.redis.gatehouseLimitsAcquire(this.prefix + key, now, max, leaseId, expiresAt)) === 1;
  }

  async renewSlots(leases: readonly SlotLease[], expiresAt: number): Promise<void> {
    if (leases.length === 0) return;
    await this.redis.gatehouseLimitsRenew(leases.length, ...leases.map((lease) => this.prefix + lease.key), expiresAt, ...leases.map((lease) => lease.leaseId));
  }

  async releaseSlot(key: string, leaseId: string): Promise<void> {
    await this.redis.gatehouseLimitsRelease(this.prefix + key, leaseId, this.channel);
  }

  async slotsInUse(key: string, now: number): Promise<number> {
    return Number(await this.redis.gatehouseLimitsInUse(this.prefix + key, now));
  }

  onSlotReleased(listener: (key: string) => void): Promise<void> {
    this.listeners.push(listener);
    if (this.subscribed !== undefined) return this.subscribed;
    // A connection in subscriber mode can do nothing else: a second one, opened only when someone listens.
    // Its subscribe must wait for its connection, whatever the main connection's state.
    const subscriber = this.redis.duplicate({ enableOfflineQueue: true });
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined);
    subscriber.on('message', (channel: string, fullKey: string) => {
      if (channel !== this.channel || !fullKey.startsWith(this.prefix)) return;
      const key = fullKey.slice(this.prefix.length);
      for (const each of this.listeners) each(key);
    });
    // Lost notifications are covered by the waiters' poll; ioredis subscribes again on reconnect.
    this.subscribed = subscriber.subscribe(this.channel).then(
      () => undefined,
      () => undefined,
    );
    return this.subscribed;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([this.redis.quit(), this.subscriber?.quit()]);
      this.redis.disconnect();
      this.subscriber?.disconnect();
    })();
    return this.closing;
  }

  private connectionOptions(options: RedisCounterStoreOptions): RedisOptions {
    return {
      // Calls must not hang on a Redis that is down: fail fast and let onStoreError decide.
      commandTimeout: options.commandTimeoutMs ?? 2_000,
      maxRetriesPerRequest: 1,
      // Reconnect forever, at most every 2 s, so limits come back with Redis.
      retryStrategy: (attempt) => Math.min(attempt * 100, 2_000),
    };
  }
}
