import { z } from 'zod';
import type { AuditRecord, AuditStore } from '../registry/index.js';
import { isAdminRecord } from './admin-audit.js';
import { pointInTimeSchema } from './audit-routes.js';
import { defineRoute, type AdminRoute } from './route.js';

/**
 * Usage over a time window, from the audit trail: calls, errors, refusals and p50/p95 latency by
 * server, tool, user or team. Aggregated here from the records (embedded scale: the scan stops at
 * MAX_SCANNED records and says so), so it works the same on every store.
 */

export const MAX_SCANNED = 100_000;
const PAGE = 1_000;

export type UsageDimension = 'server' | 'tool' | 'user' | 'team';

export const usageQuerySchema = z.strictObject({
  by: z.enum(['server', 'tool', 'user', 'team']).default('server').describe('What to group by; tool groups by server and tool.'),
  since: pointInTimeSchema.prefault('24h').describe('Start of the window: an ISO-8601 time or a duration meaning that long ago (default 24h).'),
  until: pointInTimeSchema.optional().describe('End of the window (same forms; default now).'),
});

const usageGroupSchema = z.object({
  server: z.string().optional(),
  tool: z.string().optional(),
  user: z.string().optional(),
  team: z.string().optional(),
  calls: z.number().int().describe('Calls with an outcome (in-flight intents and admin API changes are left out).'),
  errors: z.number().int().describe('Calls that ended in a JSON-RPC error, a tool isError result, or no recorded outcome.'),
  denied: z.number().int().describe('Calls refused by a policy or a limit.'),
  p50Ms: z.number().nullable(),
  p95Ms: z.number().nullable(),
});

export const usageReportSchema = z.object({
  by: z.enum(['server', 'tool', 'user', 'team']),
  since: z.string(),
  until: z.string().nullable(),
  scanned: z.number().int().describe('Audit records read.'),
  truncated: z.boolean().describe(`True when the window held more than ${MAX_SCANNED} records and only the oldest were counted.`),
  groups: z.array(usageGroupSchema).describe('Most calls first.'),
});

export type UsageGroup = z.infer<typeof usageGroupSchema>;

interface Tally {
  readonly labels: Omit<UsageGroup, 'calls' | 'errors' | 'denied' | 'p50Ms' | 'p95Ms'>;
  calls: number;
  errors: number;
  denied: number;
  readonly latencies: number[];
}

function labelsOf(record: AuditRecord, by: UsageDimension): Tally['labels'] {
  switch (by) {
    case 'server':
      return { server: record.server ?? '' };
    case 'tool':
      return { server: record.server ?? '', tool: record.name ?? '' };
    case 'user':
      return { user: record.user ?? record.subject };
    case 'team':
      return { team: record.team ?? '' };
  }
}

/** The nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], share: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]!;
}

/** Groups records by one dimension; most calls first, ties by label. */
export function summariseUsage(records: Iterable<AuditRecord>, by: UsageDimension): UsageGroup[] {
  const tallies = new Map<string, Tally>();
  for (const record of records) {
    // In-flight intents have no outcome yet; admin API changes share the trail but are not calls.
    if (record.outcome === 'pending' || isAdminRecord(record)) continue;
    const labels = labelsOf(record, by);
    const key = JSON.stringify(labels);
    let tally = tallies.get(key);
    if (tally === undefined) tallies.set(key, (tally = { labels, calls: 0, errors: 0, denied: 0, latencies: [] }));
    tally.calls++;
    if (record.outcome === 'denied') tally.denied++;
    else if (record.outcome !== 'ok' || record.isError === true) tally.errors++;
    if (record.latencyMs !== null && record.outcome !== 'denied') tally.latencies.push(record.latencyMs);
  }
  return [...tallies.values()]
    .map(({ labels, calls, errors, denied, latencies }) => {
      latencies.sort((a, b) => a - b);
      return { ...labels, calls, errors, denied, p50Ms: percentile(latencies, 0.5), p95Ms: percentile(latencies, 0.95) };
    })
    .sort((a, b) => b.calls - a.calls || JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

async function* recordsIn(store: AuditStore, since: string, until: string | undefined, scanned: { count: number }): AsyncGenerator<AuditRecord> {
  let cursor: number | undefined;
  while (scanned.count < MAX_SCANNED) {
    const page = await store.queryAudit({ order: 'asc', limit: PAGE, since, ...(until !== undefined ? { until } : {}), ...(cursor !== undefined ? { cursor } : {}) });
    for (const record of page.items) {
      if (scanned.count >= MAX_SCANNED) return;
      scanned.count++;
      yield record;
    }
    if (page.next === undefined) return;
    cursor = page.next;
  }
}

export const usageRoutes: readonly AdminRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/usage',
    operationId: 'getUsage',
    summary: 'Calls, errors and latency by server, tool, user or team over a time window',
    description: 'Aggregated from the audit trail (audit.enabled); p50 and p95 are of the calls\' latencies, refusals left out.',
    tag: 'audit',
    query: usageQuerySchema,
    success: { status: 200, description: 'The groups, most calls first.', schema: usageReportSchema },
    handle: async ({ query, deps }) => {
      const scanned = { count: 0 };
      const records: AuditRecord[] = [];
      for await (const record of recordsIn(deps.registry.store.audit, query.since, query.until, scanned)) records.push(record);
      const body = {
        by: query.by,
        since: query.since,
        until: query.until ?? null,
        scanned: scanned.count,
        truncated: scanned.count >= MAX_SCANNED,
        groups: summariseUsage(records, query.by),
      };
      return { status: 200, body };
    },
  }),
];
