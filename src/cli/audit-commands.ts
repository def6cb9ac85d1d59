import { InvalidArgumentError, Option, type Command } from 'commander';
import type { z } from 'zod';
import type { AuditRecordView, isAdminRecord } from '../admin/index.js';
import type { AuditVerification } from '../registry/index.js';
import type { AdminCliKit, AdminConnectionOptions } from './admin-cli-kit.js';
import { loadAdmin, loadApp, loadConfig, loadRegistry } from './lazy-modules.js';

/**
 * `gatehouse audit search|tail|export|verify`: the audit trail through a running gateway's admin API
 * (any replica: they share the database), and `verify --config` straight from the store, without a
 * gateway. The HTTP client and output helpers are the admin commands' (admin-cli-kit.ts); export reads
 * its JSON lines as they arrive rather than as one body.
 */

const DEFAULT_URL = 'http://127.0.0.1:8080';
const FOLLOW_INTERVAL_MS = 1000;
/** Searches and verification read a whole trail before answering: they may take longer than a change. */
const READ_TIMEOUT_MS = 120_000;

interface FilterOptions {
  user?: string;
  server?: string;
  tool?: string;
  method?: string;
  outcome?: string;
  since?: string;
  until?: string;
}

async function getJson<T extends z.ZodType>(kit: AdminCliKit, options: AdminConnectionOptions, path: string, query: URLSearchParams, schema: T): Promise<z.output<T>> {
  const response = await kit.clientFor(options).open(`${path}?${query}`, READ_TIMEOUT_MS);
  return kit.expect(schema, await response.json().catch(() => undefined));
}

function filterQuery(options: FilterOptions): URLSearchParams {
  const query = new URLSearchParams();
  for (const key of ['user', 'server', 'tool', 'method', 'outcome', 'since', 'until'] as const) {
    const value = options[key];
    if (value !== undefined) query.set(key, value);
  }
  return query;
}

function withFilters(command: Command): Command {
  return command
    .option('--user <who>', 'an API key id, token subject or user name')
    .option('--server <name>', 'the server called')
    .option('--tool <name>', 'a tool or prompt name (as its server knows it) or a resource URI')
    .option('--method <method>', 'tools/call, prompts/get, resources/read …, or an admin API change such as "admin/POST /keys"')
    .addOption(new Option('--outcome <outcome>', 'what came of the call').choices(['ok', 'error', 'denied', 'pending', 'unknown']))
    .option('--since <when>', 'at or after: an ISO-8601 time, or a duration meaning that long ago (15m, 24h, 7d)')
    .option('--until <when>', 'before (same forms as --since)')
    .option('--url <url>', `the gateway's base URL (default: $GATEHOUSE_URL or ${DEFAULT_URL})`)
    .option('--json', 'print records as JSON lines instead of a table');
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError(`expected a positive whole number, got "${value}"`);
  return number;
}

const COLUMNS = ['TIME', 'USER', 'ENDPOINT', 'SERVER', 'NAME', 'OUTCOME', 'MS'] as const;

function row(record: AuditRecordView, isAdmin: typeof isAdminRecord): string[] {
  const outcome = record.outcome === 'ok' ? (record.isError ? 'ok (isError)' : 'ok') : record.errorCode !== null ? `${record.outcome}: ${record.errorCode}` : record.outcome;
  return [
    record.at,
    record.user ?? record.subject,
    record.endpoint ?? '-',
    record.server ?? '-',
    // An admin change's kind is its method (`admin/POST /keys`); its target is in the endpoint.
    isAdmin(record) ? record.method : (record.name ?? record.method),
    outcome,
    record.latencyMs === null ? '-' : record.latencyMs.toFixed(1),
  ];
}

async function printRecords(kit: AdminCliKit, records: readonly AuditRecordView[], json: boolean | undefined, header: boolean): Promise<void> {
  if (json) {
    for (const record of records) process.stdout.write(`${JSON.stringify(record)}\n`);
    return;
  }
  const { isAdminRecord } = await loadAdmin();
  kit.printTable(COLUMNS, records.map((record) => row(record, isAdminRecord)), { header });
}

function printVerification(verification: AuditVerification, json: boolean | undefined): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(verification, null, 2)}\n`);
  } else {
    for (const chain of verification.chains) {
      const head = chain.head === null ? 'empty' : `head seq ${chain.head.seq} ${chain.head.hash}`;
      process.stdout.write(`chain ${chain.replicaId}: ${chain.rows} record(s) from seq ${chain.firstSeq ?? '-'}, ${head}\n`);
    }
    for (const problem of verification.problems) {
      process.stdout.write(`${problem.kind.toUpperCase()} ${problem.replicaId} seq ${problem.seq}${problem.id !== undefined ? ` (id ${problem.id})` : ''}: ${problem.detail}\n`);
    }
    process.stdout.write(verification.ok ? 'ok: every chain verifies\n' : `FAILED: ${verification.problems.length} problem(s)\n`);
  }
  if (!verification.ok) process.exitCode = 1;
}

export function registerAuditCommands(program: Command, kit: AdminCliKit): void {
  const audit = program.command('audit').description('The audit trail of calls and admin API changes: search, tail, export as JSON lines, verify its hash chains.');

  withFilters(audit.command('search').description('Records matching the filters, newest first'))
    .option('--limit <n>', 'at most this many records (default 50)', positiveInteger)
    .action(
      kit.run(async (options: FilterOptions & AdminConnectionOptions & { limit?: number }) => {
        const { auditPageSchema } = await loadAdmin();
        const wanted = options.limit ?? 50;
        const records: AuditRecordView[] = [];
        let cursor: number | undefined;
        while (records.length < wanted) {
          const query = filterQuery(options);
          query.set('limit', String(Math.min(1000, wanted - records.length)));
          if (cursor !== undefined) query.set('cursor', String(cursor));
          const page = await getJson(kit, options, '/audit', query, auditPageSchema);
          records.push(...page.items);
          if (page.next === undefined) break;
          cursor = page.next;
        }
        if (!options.json && records.length === 0) return void process.stdout.write('no records\n');
        await printRecords(kit, records, options.json, true);
      }),
    );

  withFilters(audit.command('tail').description('The newest records, oldest of them first; --follow keeps printing new ones'))
    .option('-n, --lines <n>', 'how many records to start with (default 20)', positiveInteger)
    .option('-f, --follow', 'keep printing records as they are written (Ctrl-C to stop)')
    .action(
      kit.run(async (options: FilterOptions & AdminConnectionOptions & { lines?: number; follow?: boolean }) => {
        const { auditPageSchema } = await loadAdmin();
        const query = filterQuery(options);
        query.set('limit', String(options.lines ?? 20));
        const newest = await getJson(kit, options, '/audit', query, auditPageSchema);
        const records = [...newest.items].reverse();
        await printRecords(kit, records, options.json, true);
        if (!options.follow) return;
        let cursor = records.at(-1)?.id ?? 0;
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, FOLLOW_INTERVAL_MS));
          const next = filterQuery(options);
          next.set('order', 'asc');
          next.set('limit', '1000');
          next.set('cursor', String(cursor));
          const page = await getJson(kit, options, '/audit', next, auditPageSchema);
          await printRecords(kit, page.items, options.json, false);
          cursor = page.items.at(-1)?.id ?? cursor;
        }
      }),
    );

  withFilters(audit.command('export').description('Every record the filters select, oldest first, as JSON lines on stdout')).action(
    kit.run(async (options: FilterOptions & AdminConnectionOptions) => {
      const query = filterQuery(options);
      query.set('format', 'jsonl');
      const response = await kit.clientFor(options).open(`/audit?${query}`, READ_TIMEOUT_MS);
      if (response.body === null) return;
      for await (const chunk of response.body) {
        if (!process.stdout.write(chunk)) await new Promise((resolve) => process.stdout.once('drain', resolve));
      }
    }),
  );

  audit
    .command('verify')
    .description('Recompute every record\'s hash; report changed records and gaps where records were deleted (exit status 1)')
    .option('-c, --config <file>', 'verify the store of this config directly, without a running gateway')
    .option('--url <url>', `the gateway's base URL (default: $GATEHOUSE_URL or ${DEFAULT_URL})`)
    .option('--json', 'print the result as JSON')
    .action(
      kit.run(async (options: AdminConnectionOptions & { config?: string }) => {
        if (options.config === undefined) {
          const { auditVerificationSchema } = await loadAdmin();
          printVerification(await getJson(kit, options, '/audit/verify', new URLSearchParams(), auditVerificationSchema), options.json);
          return;
        }
        const { loadConfigFile } = await loadConfig();
        const config = await loadConfigFile(options.config);
        const storeUrl = process.env.GATEHOUSE_STORE;
        const { openRegistry } = await loadApp();
        const registry = await openRegistry(config, { configFile: options.config, ...(storeUrl !== undefined ? { storeUrl } : {}) });
        try {
          const { verifyAudit } = await loadRegistry();
          printVerification(await verifyAudit(registry.store.audit), options.json);
        } finally {
          await registry.store.close();
        }
      }),
    );
}
