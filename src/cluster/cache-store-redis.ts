import { Redis } from 'ioredis';
import type { CacheEntry, CacheStore } from '../pipeline/index.js';

/** How long a cache read may wait on Redis before it counts as a miss: a slow cache must not slow calls. */
const COMMAND_TIMEOUT_MS = 500;

/**
 * Cached results in Redis, shared by every replica: one string per key with Redis's own expiry
 * (`SET … PX`), so nothing needs sweeping and memory is bounded by Redis's maxmemory policy.
 */
export class RedisCacheStore implements CacheStore {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly prefix = 'gatehouse:cache:',
  ) {
    this.redis = new Redis(url, { commandTimeout: COMMAND_TIMEOUT_MS, maxRetriesPerRequest: 1 });
    // Failures reach each command's caller (a miss, a dropped write); without a listener ioredis prints them.
    this.redis.on('error', () => undefined);
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const text = await this.redis.get(this.prefix + key);
    if (text === null) return undefined;
    const at = text.indexOf('\n');
    return { storedAt: Number(text.slice(0, at)), result: text.slice(at + 1) };
  }

  async set(key: string, entry: CacheEntry, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + key, `${entry.storedAt}\n${entry.result}`, 'PX', ttlMs);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
