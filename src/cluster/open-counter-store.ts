import { GatehouseError } from '../core/index.js';
import { MemoryCounterStore, type CounterStore } from '../pipeline/index.js';
import { RedisCounterStore } from './counter-store-redis.js';

/** The counter store `limits.store` names: `memory`, or a redis:// (rediss:// for TLS) URL. */
export function openCounterStore(url: string): CounterStore {
  if (url === 'memory') return new MemoryCounterStore();
  if (/^rediss?:\/\//.test(url)) return new RedisCounterStore(url);
  throw new GatehouseError('config_invalid', `limits.store must be "memory" or a redis:// URL, not "${url}".`);
}
