import { GatehouseError } from '../core/index.js';
import type { ApiKeyRecord, HealthSample, HealthSummary, LimitRuleRecord, PolicyRecord, ToolFingerprint } from './store.js';

/**
 * What the memory, SQLite and PostgreSQL stores share, so that the three give the same answers to
 * the contract suite: time canonicalisation, ordering, and how a health summary is built.
 */

export interface StoreOptions {
  /** The clock for `createdAt`/`updatedAt`; tests pass one that moves on every call. */
  readonly now?: () => Date;
}

/**
 * Every stored time is `Date#toISOString()` output. The SQL stores compare times as text, which orders
 * correctly only when all of them share one format ("…T00:00:00Z" sorts after "…T00:00:00.500Z").
 */
export function isoTime(value: string): string {
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw new GatehouseError('internal', `not an ISO-8601 time: ${JSON.stringify(value)}`);
  return time.toISOString();
}

export function nowFrom(options: StoreOptions): () => string {
  const clock = options.now ?? (() => new Date());
  return () => clock().toISOString();
}

export function checkPageLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new GatehouseError('internal', `a page limit is a positive integer, not ${limit}`);
}

/**
 * Plain code-unit order. The SQL stores sort here rather than in ORDER BY because PostgreSQL would
 * order text by the database's collation, which differs between installations.
 */
export function compareText(left: string, right: string): number {
  return left < right ? -1 : left > right ? 1 : 0;
}

export function byName<T extends { readonly name: string }>(left: T, right: T): number {
  return compareText(left.name, right.name);
}

/** By position; records at the same position (two replicas adding at once) by id. */
export function comparePolicies(left: PolicyRecord, right: PolicyRecord): number {
  return left.position - right.position || compareText(left.id, right.id);
}

/** By position; rules at the same position (two replicas adding at once) by name. */
export function compareLimitRules(left: LimitRuleRecord, right: LimitRuleRecord): number {
  return left.position - right.position || compareText(left.name, right.name);
}

export function compareFingerprints(left: ToolFingerprint, right: ToolFingerprint): number {
  return (
    compareText(left.tool, right.tool) ||
    compareText(left.firstSeenAt, right.firstSeenAt) ||
    compareText(left.fingerprint, right.fingerprint)
  );
}

/** Oldest first; keys created in the same millisecond by their id. */
export function compareApiKeys(left: ApiKeyRecord, right: ApiKeyRecord): number {
  return compareText(left.createdAt, right.createdAt) || compareText(left.id, right.id);
}

/** The key as stored: times canonical, so the SQL stores' text comparisons order them. */
export function canonicalApiKey(record: ApiKeyRecord): ApiKeyRecord {
  const time = (value: string | null): string | null => (value === null ? null : isoTime(value));
  return {
    id: record.id,
    name: record.name,
    secretHash: record.secretHash,
    roles: [...record.roles],
    endpoints: record.endpoints === null ? null : [...record.endpoints],
    createdAt: isoTime(record.createdAt),
    expiresAt: time(record.expiresAt),
    revokedAt: time(record.revokedAt),
    rotatedFrom: record.rotatedFrom,
    lastUsedAt: time(record.lastUsedAt),
    createdBy: record.createdBy,
  };
}

export function duplicateApiKey(id: string): GatehouseError {
  return new GatehouseError('internal', `an API key with id ${id} exists`);
}

/** A tool listed twice in one call is recorded once (PostgreSQL refuses to upsert one row twice in one statement). */
export function uniqueFingerprints(fingerprints: readonly { tool: string; fingerprint: string }[]): { tool: string; fingerprint: string }[] {
  const seen = new Map<string, { tool: string; fingerprint: string }>();
  for (const { tool, fingerprint } of fingerprints) seen.set(JSON.stringify([tool, fingerprint]), { tool, fingerprint });
  return [...seen.values()];
}

export interface HealthTotals {
  readonly server: string;
  readonly checks: number;
  readonly ok: number;
  readonly avgLatencyMs: number | null;
}

/** Builds the summaries from per-server totals and the newest samples of the window, ordered by server. */
export function healthSummaries(totals: readonly HealthTotals[], last: ReadonlyMap<string, HealthSample>, lastError: ReadonlyMap<string, HealthSample>): HealthSummary[] {
  return totals
    .filter((total) => total.checks > 0)
    .map((total) => ({
      server: total.server,
      checks: total.checks,
      ok: total.ok,
      uptime: total.ok / total.checks,
      avgLatencyMs: total.avgLatencyMs,
      last: last.get(total.server) ?? null,
      lastError: lastError.get(total.server) ?? null,
    }))
    .sort((left, right) => compareText(left.server, right.server));
}
