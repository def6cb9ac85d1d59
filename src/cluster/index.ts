export { RedisCounterStore, type RedisCounterStoreOptions } from './counter-store-redis.js';
export { openCounterStore } from './open-counter-store.js';
export { RedisCacheStore } from './cache-store-redis.js';
