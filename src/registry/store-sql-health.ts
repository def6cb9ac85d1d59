import type { Kysely } from 'kysely';
import type { RegistryTables } from './migrations.js';
import { healthSummaries } from './store-records.js';
import type { Row } from './store-sql-rows.js';
import type { HealthSample, HealthSummary } from './store.js';

/**
 * The SQL store's health summary: per-server totals and the newest passing and failing sample in a
 * window, read with aggregates and a window function that SQLite and PostgreSQL both run (store-sql.ts).
 */

function toHealthSample(row: Pick<Row<'health_samples'>, 'server' | 'at' | 'ok' | 'latency_ms' | 'error'>): HealthSample {
  return { server: row.server, at: row.at, ok: row.ok === 1, latencyMs: row.latency_ms, error: row.error };
}

/** Aggregates come back as strings from PostgreSQL (bigint, numeric) and as numbers from SQLite. */
function toNumber(value: string | number | bigint | null): number | null {
  return value === null ? null : Number(value);
}

/** The summaries of every server with a sample at or after `from` (an ISO time). */
export async function queryHealthSummaries(db: Kysely<RegistryTables>, from: string): Promise<HealthSummary[]> {
  const totals = await db
    .selectFrom('health_samples')
    .where('at', '>=', from)
    .groupBy('server')
    .select((expression) => [
      'server',
      expression.fn.countAll<number | string>().as('checks'),
      expression.fn.sum<number | string>('ok').as('ok'),
      expression.fn.avg<number | string | null>('latency_ms').as('avg_latency_ms'),
    ])
    .execute();
  // The newest passing and the newest failing sample of each server in the window; the newer of
  // the two is its last sample. Ties on `at` go to the sample recorded later.
  const newest = await db
    .selectFrom((expression) =>
      expression
        .selectFrom('health_samples')
        .where('at', '>=', from)
        .select((inner) => [
          'server',
          'at',
          'ok',
          'latency_ms',
          'error',
          'id',
          inner.fn
            .agg<number | string>('row_number')
            .over((over) => over.partitionBy(['server', 'ok']).orderBy('at', 'desc').orderBy('id', 'desc'))
            .as('position'),
        ])
        .as('ranked'),
    )
    .select(['server', 'at', 'ok', 'latency_ms', 'error', 'id'])
    .where('position', '=', 1)
    .orderBy('at', 'asc')
    .orderBy('id', 'asc')
    .execute();
  const last = new Map<string, HealthSample>();
  const lastError = new Map<string, HealthSample>();
  for (const row of newest) {
    const sample = toHealthSample(row);
    last.set(row.server, sample);
    if (!sample.ok) lastError.set(row.server, sample);
  }
  return healthSummaries(
    totals.map((total) => ({
      server: total.server,
      checks: toNumber(total.checks) ?? 0,
      ok: toNumber(total.ok) ?? 0,
      avgLatencyMs: toNumber(total.avg_latency_ms),
    })),
    last,
    lastError,
  );
}
