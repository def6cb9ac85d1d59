export { CacheFilter, CACHE_META_KEY, type CacheCounters } from './cache-filter.js';
export { CacheRules, type CacheRuleSpec, type CacheSettings, type CachePlan } from './cache-rules.js';
export { MemoryCacheStore, type CacheStore, type CacheEntry, type MemoryCacheStoreOptions } from './cache-store.js';
