import { hostname } from 'node:os';
import { RedisCacheStore, openCounterStore } from './cluster/index.js';
import type { AdminAuditTrail } from './admin/index.js';
import type { GatehouseConfig } from './config/index.js';
import type { Logger } from './observability/index.js';
import { AuditFilter, AuditWriter, CacheFilter, CacheRules, LimitFilter, MemoryCacheStore, Redactor, type CacheStore } from './pipeline/index.js';
import type { RequestOutcome } from './protocol/index.js';
import { parseDuration, type Registry } from './registry/index.js';

/* The pipeline's filters as the config asks for them (the metrics filter is built with the metrics). */

/** The audit filter and its writer, from `audit` (see pipeline/audit). */
export function auditFilter(config: GatehouseConfig, registry: Registry, logger: Logger): AuditFilter {
  const { audit } = config;
  const writer = new AuditWriter({
    store: registry.store.audit,
    replicaId: audit.replicaId ?? hostname(),
    max: audit.queue.max,
    batch: audit.queue.batch,
    flushMs: audit.queue.flushMs,
    overload: audit.queue.overload,
    retentionMs: audit.retention === 'forever' ? undefined : parseDuration(audit.retention),
    maxRecords: audit.maxRecords,
    logger,
  });
  return new AuditFilter({
    writer,
    redactor: new Redactor(audit.redact),
    listCalls: audit.listCalls,
    captureResults: audit.captureResults,
    intents: audit.intents,
    maxFieldBytes: audit.maxFieldBytes,
  });
}

/** What the admin API records its changes with (admin/admin-audit.ts): the calls' writer and redaction. */
export function adminAuditTrail(filter: AuditFilter): AdminAuditTrail {
  const { writer } = filter.options;
  return { replicaId: writer.replicaId, json: (value) => filter.json(value), accept: (entry) => writer.accept(entry) };
}

/** The response cache, when a rule or annotatedTools turns it on; its store is `cache.store`. */
export function cacheFilter(cache: GatehouseConfig['cache']): { filter: CacheFilter; store: CacheStore } | undefined {
  if (cache.rules.length === 0 && cache.annotatedTools === undefined) return undefined;
  const store = cache.store === 'memory' ? new MemoryCacheStore({ maxEntries: cache.maxEntries, maxBytes: cache.maxBytes }) : new RedisCacheStore(cache.store);
  const rules = new CacheRules({
    rules: cache.rules.map((rule) => ({ servers: rule.servers, tools: rule.tools, resources: rule.resources, ttlMs: rule.ttl, shared: rule.shared })),
    annotatedTtlMs: cache.annotatedTools,
  });
  return { filter: new CacheFilter(rules, store), store };
}

/**
 * Rate limits, quotas and concurrency limits on calls, with counters where `limits.store` says. The
 * rules are the registry's (the file's `limits.rules` seeded into it, and those made through the admin
 * API), applied again whenever they change there: on this replica or, through the store, on another.
 */
export function limitFilter(limits: GatehouseConfig['limits'], registry: Registry, logger: Logger): LimitFilter<RequestOutcome> {
  let appliedJson = JSON.stringify(registry.limitRules());
  const filter = new LimitFilter<RequestOutcome>({
    rules: registry.limitRules(),
    store: openCounterStore(limits.store),
    onStoreError: limits.onStoreError,
    warn: (message, detail) => logger.warn(detail, message),
  });
  registry.onChange(() => {
    const rules = registry.limitRules();
    const json = JSON.stringify(rules);
    if (json === appliedJson) return;
    appliedJson = json;
    filter.setRules(rules);
    logger.info({ rules: rules.map((rule) => rule.name) }, 'limit rules applied');
  });
  return filter;
}
