export { compileChain } from './filter-chain.js';
export type { Filter, Chain } from './filter-chain.js';
export { CallContext, type CallTarget, type TargetResolver } from './call-context.js';
export { createJwtVerifier, looksLikeJwt, type JwtVerifier, type IssuerOptions } from './authn/index.js';
export { createAuthenticator, type Authenticate, type AuthenticatorOptions } from './authn/authenticator.js';
export { Policies, type PolicyRule, type Permits, type ItemKind } from './authz/index.js';
export { MetricsFilter, type RequestMetricsSink } from './metrics/index.js';
export {
  LimitFilter,
  MemoryCounterStore,
  bucketFillMs,
  type LimitFilterOptions,
  type LimitRule,
  type CounterStore,
  type CounterCheck,
  type TakeResult,
  type SlotLease,
} from './limits/index.js';
export { AuditFilter, AuditWriter, Redactor, REDACTED, type AuditFilterOptions, type AuditWriterOptions, type AuditLogger, type AuditRecordSink } from './audit/index.js';
export { CacheFilter, CacheRules, MemoryCacheStore, CACHE_META_KEY, type CacheStore, type CacheEntry, type CacheCounters } from './cache/index.js';
