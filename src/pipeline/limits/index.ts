export { LimitFilter, type LimitFilterOptions } from './limit-filter.js';
export { compileLimitRule, quotaWindow, type LimitRule, type LimitKeyPart, type QuotaPeriod, type CompiledLimitRule } from './limit-rules.js';
export { MemoryCounterStore } from './counter-store-memory.js';
export { bucketFillMs, type CounterStore, type CounterCheck, type RateCheck, type QuotaCheck, type TakeResult, type SlotLease } from './counter-store.js';
export { ConcurrencyGate, type SlotLimit, type ConcurrencyGateOptions } from './concurrency-gate.js';
