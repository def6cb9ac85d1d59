/** A cached answer: the result as JSON text, and when it was stored. */
export interface CacheEntry {
  readonly result: string;
  /** Epoch milliseconds. */
  readonly storedAt: number;
}

/**
 * Where cached results live: in memory by default, Redis when several replicas should share them.
 * A store that fails answers as a miss (get) or drops the write (set): the cache never fails a call.
 */
export interface CacheStore {
  get(key: string): Promise<CacheEntry | undefined>;
  set(key: string, entry: CacheEntry, ttlMs: number): Promise<void>;
  close(): Promise<void>;
}

export interface MemoryCacheStoreOptions {
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly now?: () => number;
}

/**
 * An LRU bounded by entry count and by bytes (the result text's length, UTF-16 code units × 2 as an
 * upper bound of what V8 keeps), with a TTL per entry. A Map iterates in insertion order, so
 * re-inserting on a hit keeps the least recently used first, where eviction takes from.
 */
export class MemoryCacheStore implements CacheStore {
  private readonly entries = new Map<string, { entry: CacheEntry; expiresAt: number; bytes: number }>();
  private bytes = 0;
  private readonly now: () => number;

  constructor(private readonly options: MemoryCacheStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const found = this.entries.get(key);
    if (found === undefined) return undefined;
    this.entries.delete(key);
    if (this.now() >= found.expiresAt) {
      this.bytes -= found.bytes;
      return undefined;
    }
    this.entries.set(key, found);
    return found.entry;
  }

  async set(key: string, entry: CacheEntry, ttlMs: number): Promise<void> {
    const bytes = (entry.result.length + key.length) * 2;
    if (bytes > this.options.maxBytes) return;
    const previous = this.entries.get(key);
    if (previous !== undefined) {
      this.entries.delete(key);
      this.bytes -= previous.bytes;
    }
    this.entries.set(key, { entry, expiresAt: this.now() + ttlMs, bytes });
    this.bytes += bytes;
    for (const [oldest, value] of this.entries) {
      if (this.entries.size <= this.options.maxEntries && this.bytes <= this.options.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= value.bytes;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  async close(): Promise<void> {
    this.entries.clear();
    this.bytes = 0;
  }
}
