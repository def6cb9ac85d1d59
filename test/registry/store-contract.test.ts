// One contract for the registry Store, run against every implementation (DESIGN: contract tests).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { GatehouseError } from '../../src/core/index.js';
import {
  LATEST_SCHEMA_VERSION,
  MemoryStore,
  openPostgresStore,
  openSqliteStore,
  openStore,
  limitRuleSchema,
  policySchema,
  serverSchema,
  virtualServerSchema,
  type ApiKeyRecord,
  type LearntState,
  type RegistryTables,
  type ServerSpec,
  type Store,
  type StoreOptions,
} from '../../src/registry/index.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../helpers/postgres.js';

/** One database to test on: opened once or, for the persistent stores, again after a close. */
interface Subject {
  open(options: StoreOptions): Promise<Store>;
  /** The SQL stores: the same database through a plain Kysely, to change it as another Gatehouse would. */
  raw?: () => Promise<Kysely<RegistryTables>>;
  dispose(): Promise<void>;
}

/** A clock that moves one second on every reading, so that "updatedAt moves" never depends on timing. */
function steppingClock(): () => Date {
  let now = Date.parse('2030-01-01T00:00:00.000Z');
  return () => new Date((now += 1000));
}

const at = (seconds: number): string => new Date(Date.parse('2031-01-01T00:00:00.000Z') + seconds * 1000).toISOString();

const spec = (command: string): ServerSpec => serverSchema.parse({ command, args: ['--stdio'], tags: ['dev'] });
const virtualSpec = (tool: string) => virtualServerSchema.parse({ tools: [{ server: 'github', name: tool }] });
const policySpec = (role: string) => policySchema.parse({ who: { roles: [role] }, servers: ['github'], tools: ['get_*'], when: 'args.repo == "acme/web"' });
const limitSpec = (name: string, requests: number) =>
  limitRuleSchema.parse({ name, match: { servers: ['github'], tools: ['create_*'] }, key: ['client', 'tool'], rate: { requests, per: '1m', burst: 2 }, quota: { requests: 100, per: 'day' } });

function learnt(server: string, toolNames: readonly string[]): LearntState {
  return {
    server,
    serverInfo: { name: `${server}-server`, version: '1.2.3' },
    protocolVersion: '2025-06-18',
    capabilities: { tools: { listChanged: true } },
    instructions: null,
    tools: toolNames.map((name) => ({ name, inputSchema: { type: 'object', properties: { q: { type: 'string' } } } })),
    prompts: [],
    resources: [{ uri: 'file:///readme.md', name: 'readme' }],
    resourceTemplates: [],
    updatedAt: at(0),
  };
}

function apiKey(id: string, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id,
    name: 'ci-bot',
    secretHash: 'ab'.repeat(32),
    roles: ['reader'],
    endpoints: null,
    createdAt: at(1),
    expiresAt: null,
    revokedAt: null,
    rotatedFrom: null,
    lastUsedAt: null,
    createdBy: 'alice',
    ...overrides,
  };
}

function isGatehouseError(code: string, message?: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof GatehouseError, `expected a GatehouseError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  };
}

/** The tables each migration created: a test that rebuilds an older database drops the newer ones. */
const TABLES_OF_MIGRATION: Readonly<Record<number, readonly string[]>> = {
  2: ['api_keys'],
  3: ['policies'],
  4: ['user_connections', 'oauth_flows'],
  5: ['audit_records', 'audit_anchors'],
  6: ['limit_rules'],
  7: [],
  8: [],
};

/** The columns migrations added to tables an earlier one created: dropped too when rebuilding an older database. */
const COLUMNS_OF_MIGRATION: Readonly<Record<number, readonly (readonly [string, string])[]>> = {
  7: [['audit_records', 'upstream']],
  8: [['audit_records', 'intent']],
};

/** Leaves the database as a Gatehouse that knew migrations up to `version` would have. */
async function downgradeTo(raw: Kysely<RegistryTables>, version: number): Promise<void> {
  for (let newer = LATEST_SCHEMA_VERSION; newer > version; newer--) {
    const tables = TABLES_OF_MIGRATION[newer];
    assert.ok(tables !== undefined, `TABLES_OF_MIGRATION lacks migration ${newer}`);
    for (const [table, column] of COLUMNS_OF_MIGRATION[newer] ?? []) await raw.schema.alterTable(table).dropColumn(column).execute();
    for (const table of tables) await raw.schema.dropTable(table).execute();
  }
  await raw.updateTable('gatehouse_schema').set({ version }).execute();
}

function storeContract(fresh: () => Promise<Subject>): void {
  let subject: Subject;
  let store: Store;

  beforeEach(async () => {
    subject = await fresh();
    store = await subject.open({ now: steppingClock() });
  });

  afterEach(async () => {
    await store.close();
    await subject.dispose();
  });

  test('a put server reads back by name and in the list, which is ordered by name', async () => {
    const put = await store.putServer({ name: 'web', spec: spec('web-mcp'), status: 'pending', source: 'api' });
    await store.putServer({ name: 'Files', spec: spec('files-mcp'), status: 'approved', source: 'file' });
    await store.putServer({ name: 'alpha', spec: spec('alpha-mcp'), status: 'disabled', source: 'api' });

    assert.deepEqual(await store.getServer('web'), put);
    assert.deepEqual(put.spec, spec('web-mcp'));
    assert.equal(put.status, 'pending');
    assert.equal(put.source, 'api');
    assert.equal(put.createdAt, put.updatedAt);
    assert.deepEqual((await store.listServers()).map((record) => record.name), ['Files', 'alpha', 'web']);
    assert.equal(await store.getServer('missing'), undefined);
  });

  test('replacing a server keeps its createdAt, moves its updatedAt and stores the new fields', async () => {
    const first = await store.putServer({ name: 'web', spec: spec('web-mcp'), status: 'pending', source: 'api' });
    const second = await store.putServer({ name: 'web', spec: spec('web-mcp-2'), status: 'approved', source: 'file' });

    assert.equal(second.createdAt, first.createdAt);
    assert.ok(second.updatedAt > first.updatedAt, `${second.updatedAt} should be after ${first.updatedAt}`);
    assert.deepEqual(await store.getServer('web'), second);
    assert.deepEqual(second.spec, spec('web-mcp-2'));
    assert.equal(second.status, 'approved');
    assert.equal(second.source, 'file');
    assert.equal((await store.listServers()).length, 1);
  });

  test('deleting a server says whether there was one', async () => {
    await store.putServer({ name: 'web', spec: spec('web-mcp'), status: 'approved', source: 'api' });

    assert.equal(await store.deleteServer('web'), true);
    assert.equal(await store.deleteServer('web'), false);
    assert.equal(await store.getServer('web'), undefined);
    assert.deepEqual(await store.listServers(), []);
  });

  test('virtual servers put, replace (keeping createdAt), list by name and delete', async () => {
    const first = await store.putVirtualServer({ name: 'triage', spec: virtualSpec('get_issue'), source: 'api' });
    await store.putVirtualServer({ name: 'docs', spec: virtualSpec('search'), source: 'file' });
    const replaced = await store.putVirtualServer({ name: 'triage', spec: virtualSpec('list_issues'), source: 'api' });

    assert.equal(replaced.createdAt, first.createdAt);
    assert.ok(replaced.updatedAt > first.updatedAt);
    assert.deepEqual(await store.getVirtualServer('triage'), replaced);
    assert.deepEqual(replaced.spec, virtualSpec('list_issues'));
    assert.deepEqual((await store.listVirtualServers()).map((record) => record.name), ['docs', 'triage']);
    assert.equal(await store.getServer('triage'), undefined, 'virtual servers are not servers');

    assert.equal(await store.deleteVirtualServer('triage'), true);
    assert.equal(await store.deleteVirtualServer('triage'), false);
    assert.deepEqual((await store.listVirtualServers()).map((record) => record.name), ['docs']);
  });

  test('the revision grows on every put and delete of a server or virtual server, and not on reads or misses', async () => {
    const start = await store.revision();
    const revisions = [start];
    const expectGrowth = async (what: string): Promise<void> => {
      const now = await store.revision();
      assert.ok(now > (revisions.at(-1) ?? start), `revision should grow after ${what}`);
      revisions.push(now);
    };
    const expectSame = async (what: string): Promise<void> => {
      assert.equal(await store.revision(), revisions.at(-1), `revision should not change after ${what}`);
    };

    await store.putServer({ name: 'web', spec: spec('web-mcp'), status: 'approved', source: 'api' });
    await expectGrowth('putServer');
    await store.putServer({ name: 'web', spec: spec('web-mcp'), status: 'disabled', source: 'api' });
    await expectGrowth('putServer replacing');
    await store.getServer('web');
    await store.listServers();
    await store.listVirtualServers();
    await store.getVirtualServer('web');
    await expectSame('reads');
    await store.putVirtualServer({ name: 'triage', spec: virtualSpec('get_issue'), source: 'api' });
    await expectGrowth('putVirtualServer');
    await store.deleteVirtualServer('triage');
    await expectGrowth('deleteVirtualServer');
    await store.deleteVirtualServer('triage');
    await store.deleteServer('nothing-here');
    await expectSame('deleting what is not there');
    await store.putLearnt(learnt('web', ['search']));
    await store.recordHealth({ server: 'web', at: at(1), ok: true, latencyMs: 5, error: null });
    await store.appendAdminEvent({ at: at(1), actor: 'admin', action: 'server.update', target: 'web', detail: {} });
    await expectSame('learnt state, health and admin events');
    await store.deleteServer('web');
    await expectGrowth('deleteServer');
    await store.putPolicy({ id: 'pol_a', position: 0, spec: policySpec('reader'), source: 'api' });
    await expectGrowth('putPolicy');
    await store.putPolicy({ id: 'pol_a', position: 0, spec: policySpec('writer'), source: 'api' });
    await expectGrowth('putPolicy replacing');
    await store.getPolicy('pol_a');
    await store.listPolicies();
    await store.deletePolicy('nothing-here');
    await expectSame('policy reads and deleting a policy that is not there');
    await store.deletePolicy('pol_a');
    await expectGrowth('deletePolicy');
    await store.putLimitRule({ name: 'per-client', position: 0, spec: limitSpec('per-client', 5), source: 'api' });
    await expectGrowth('putLimitRule');
    await store.putLimitRule({ name: 'per-client', position: 0, spec: limitSpec('per-client', 9), source: 'api' });
    await expectGrowth('putLimitRule replacing');
    await store.getLimitRule('per-client');
    await store.listLimitRules();
    await store.deleteLimitRule('nothing-here');
    await expectSame('limit rule reads and deleting a rule that is not there');
    await store.deleteLimitRule('per-client');
    await expectGrowth('deleteLimitRule');
  });

  test('a put limit rule reads back by name and in the list, which is ordered by position, ties by name', async () => {
    const first = await store.putLimitRule({ name: 'b', position: 1, spec: limitSpec('b', 5), source: 'api' });
    await store.putLimitRule({ name: 'from-file', position: 0, spec: limitSpec('from-file', 1), source: 'file' });
    await store.putLimitRule({ name: 'a', position: 1, spec: limitSpec('a', 2), source: 'api' });
    await store.putLimitRule({ name: 'c', position: 10, spec: limitSpec('c', 3), source: 'api' });

    assert.deepEqual(await store.getLimitRule('b'), first);
    assert.deepEqual(first.spec, limitSpec('b', 5));
    assert.deepEqual(first.spec.rate, { requests: 5, per: 60_000, burst: 2 }, 'durations are stored parsed, in milliseconds');
    assert.equal(first.position, 1);
    assert.equal(first.source, 'api');
    assert.equal(first.createdAt, first.updatedAt);
    assert.deepEqual((await store.listLimitRules()).map((record) => record.name), ['from-file', 'a', 'b', 'c'], '10 sorts after 1 as a number');
    assert.equal(await store.getLimitRule('missing'), undefined);
  });

  test('replacing a limit rule keeps its createdAt, moves its updatedAt and stores the new fields; deleting says whether there was one', async () => {
    const first = await store.putLimitRule({ name: 'r', position: 3, spec: limitSpec('r', 5), source: 'api' });
    const second = await store.putLimitRule({ name: 'r', position: 4, spec: limitSpec('r', 7), source: 'file' });

    assert.equal(second.createdAt, first.createdAt);
    assert.ok(second.updatedAt > first.updatedAt, `${second.updatedAt} should be after ${first.updatedAt}`);
    assert.deepEqual(await store.getLimitRule('r'), second);
    assert.equal(second.spec.rate?.requests, 7);
    assert.equal(second.position, 4);
    assert.equal(second.source, 'file');
    assert.equal((await store.listLimitRules()).length, 1);

    assert.equal(await store.deleteLimitRule('r'), true);
    assert.equal(await store.deleteLimitRule('r'), false);
    assert.equal(await store.getLimitRule('r'), undefined);
    assert.deepEqual(await store.listLimitRules(), []);
  });

  test('a concurrency-only limit rule with defaults round-trips as written', async () => {
    const rule = limitRuleSchema.parse({ name: 'slots', concurrency: { max: 2 } });
    await store.putLimitRule({ name: 'slots', position: 0, spec: rule, source: 'api' });
    assert.deepEqual((await store.getLimitRule('slots'))?.spec, rule);
    assert.deepEqual(rule, { name: 'slots', match: { servers: ['*'] }, key: [], concurrency: { max: 2, queue: 0, queueTimeout: 10_000 } });
  });

  test('a put policy reads back by id and in the list, which is ordered by position, ties by id', async () => {
    const first = await store.putPolicy({ id: 'pol_b', position: 1, spec: policySpec('reader'), source: 'api' });
    await store.putPolicy({ id: 'file-0', position: 0, spec: policySpec('admin'), source: 'file' });
    await store.putPolicy({ id: 'pol_a', position: 1, spec: policySpec('writer'), source: 'api' });
    await store.putPolicy({ id: 'pol_c', position: 10, spec: policySpec('auditor'), source: 'api' });

    assert.deepEqual(await store.getPolicy('pol_b'), first);
    assert.deepEqual(first.spec, policySpec('reader'));
    assert.equal(first.position, 1);
    assert.equal(first.source, 'api');
    assert.equal(first.createdAt, first.updatedAt);
    assert.deepEqual((await store.listPolicies()).map((record) => record.id), ['file-0', 'pol_a', 'pol_b', 'pol_c'], '10 sorts after 1 as a number');
    assert.equal(await store.getPolicy('missing'), undefined);
  });

  test('replacing a policy keeps its createdAt, moves its updatedAt and stores the new fields; deleting says whether there was one', async () => {
    const first = await store.putPolicy({ id: 'pol_a', position: 3, spec: policySpec('reader'), source: 'api' });
    const second = await store.putPolicy({ id: 'pol_a', position: 4, spec: policySpec('writer'), source: 'file' });

    assert.equal(second.createdAt, first.createdAt);
    assert.ok(second.updatedAt > first.updatedAt, `${second.updatedAt} should be after ${first.updatedAt}`);
    assert.deepEqual(await store.getPolicy('pol_a'), second);
    assert.deepEqual(second.spec, policySpec('writer'));
    assert.equal(second.position, 4);
    assert.equal(second.source, 'file');
    assert.equal((await store.listPolicies()).length, 1);

    assert.equal(await store.deletePolicy('pol_a'), true);
    assert.equal(await store.deletePolicy('pol_a'), false);
    assert.equal(await store.getPolicy('pol_a'), undefined);
    assert.deepEqual(await store.listPolicies(), []);
  });

  test('a policy with every field left to its default round-trips as written', async () => {
    const open = policySchema.parse({});
    await store.putPolicy({ id: 'pol_open', position: 0, spec: open, source: 'api' });
    assert.deepEqual((await store.getPolicy('pol_open'))?.spec, open);
    assert.deepEqual(open, { effect: 'allow', servers: ['*'] }, 'no who, tools or when: the record says so by leaving them out');
  });

  test('deleting a server deletes its learnt state, fingerprints and health, and nothing of other servers', async () => {
    for (const name of ['web', 'files']) {
      await store.putServer({ name, spec: spec(`${name}-mcp`), status: 'approved', source: 'api' });
      await store.putLearnt(learnt(name, ['search']));
      await store.recordFingerprints(name, [{ tool: 'search', fingerprint: 'h1' }], at(1));
      await store.recordHealth({ server: name, at: at(1), ok: true, latencyMs: 5, error: null });
    }

    await store.deleteServer('web');

    assert.equal(await store.getLearnt('web'), undefined);
    assert.deepEqual(await store.listFingerprints('web'), []);
    assert.deepEqual((await store.healthSummaries(at(0))).map((summary) => summary.server), ['files']);
    assert.deepEqual((await store.listLearnt()).map((state) => state.server), ['files']);
    assert.equal((await store.listFingerprints('files')).length, 1);
  });

  test('learnt state round-trips, and a later put replaces it', async () => {
    const state = learnt('web', ['search', 'fetch']);
    await store.putLearnt(state);
    assert.deepEqual(await store.getLearnt('web'), state);

    const withNulls: LearntState = { ...learnt('web', []), serverInfo: null, protocolVersion: null, capabilities: null, instructions: 'Use search first.', updatedAt: at(5) };
    await store.putLearnt(withNulls);
    await store.putLearnt(learnt('alpha', ['x']));

    assert.deepEqual(await store.getLearnt('web'), withNulls);
    assert.deepEqual((await store.listLearnt()).map((entry) => entry.server), ['alpha', 'web']);
    assert.equal(await store.getLearnt('missing'), undefined);
  });

  test('fingerprints: the first sighting is kept, the last moves, and a changed fingerprint is a new row', async () => {
    const firstCall = await store.recordFingerprints('web', [{ tool: 'search', fingerprint: 'h1' }, { tool: 'fetch', fingerprint: 'f1' }], at(1));
    assert.deepEqual(firstCall, [
      { server: 'web', tool: 'fetch', fingerprint: 'f1', firstSeenAt: at(1), lastSeenAt: at(1) },
      { server: 'web', tool: 'search', fingerprint: 'h1', firstSeenAt: at(1), lastSeenAt: at(1) },
    ]);

    const seenAgain = await store.recordFingerprints('web', [{ tool: 'search', fingerprint: 'h1' }], at(2));
    assert.deepEqual(seenAgain, [{ server: 'web', tool: 'search', fingerprint: 'h1', firstSeenAt: at(1), lastSeenAt: at(2) }]);

    const changed = await store.recordFingerprints('web', [{ tool: 'search', fingerprint: 'h2' }, { tool: 'search', fingerprint: 'h2' }], at(3));
    assert.deepEqual(changed, [
      { server: 'web', tool: 'search', fingerprint: 'h1', firstSeenAt: at(1), lastSeenAt: at(2) },
      { server: 'web', tool: 'search', fingerprint: 'h2', firstSeenAt: at(3), lastSeenAt: at(3) },
    ]);

    await store.recordFingerprints('files', [{ tool: 'search', fingerprint: 'other' }], at(4));
    assert.deepEqual(
      (await store.listFingerprints('web')).map((row) => `${row.tool}:${row.fingerprint}`),
      ['fetch:f1', 'search:h1', 'search:h2'],
    );
    assert.deepEqual(await store.recordFingerprints('web', [], at(5)), []);
    assert.deepEqual(await store.listFingerprints('nobody'), []);
  });

  test('health summaries give checks, uptime, average latency, the last sample and the last error within the window', async () => {
    await store.recordHealth({ server: 'web', at: at(10), ok: true, latencyMs: 10, error: null });
    await store.recordHealth({ server: 'web', at: at(20), ok: false, latencyMs: null, error: 'connect ECONNREFUSED' });
    await store.recordHealth({ server: 'web', at: at(30), ok: true, latencyMs: 20, error: null });
    await store.recordHealth({ server: 'files', at: at(20), ok: true, latencyMs: 30, error: null });
    // Older than every window below.
    await store.recordHealth({ server: 'web', at: at(1), ok: false, latencyMs: 1000, error: 'old' });

    assert.deepEqual(await store.healthSummaries(at(5)), [
      {
        server: 'files',
        checks: 1,
        ok: 1,
        uptime: 1,
        avgLatencyMs: 30,
        last: { server: 'files', at: at(20), ok: true, latencyMs: 30, error: null },
        lastError: null,
      },
      {
        server: 'web',
        checks: 3,
        ok: 2,
        uptime: 2 / 3,
        avgLatencyMs: 15,
        last: { server: 'web', at: at(30), ok: true, latencyMs: 20, error: null },
        lastError: { server: 'web', at: at(20), ok: false, latencyMs: null, error: 'connect ECONNREFUSED' },
      },
    ]);

    // `since` is inclusive, and written without milliseconds it still means the same instant.
    const fromThirty = await store.healthSummaries(at(30).replace('.000Z', 'Z'));
    assert.deepEqual(
      fromThirty.map((summary) => [summary.server, summary.checks, summary.uptime, summary.lastError]),
      [['web', 1, 1, null]],
    );
    assert.deepEqual(await store.healthSummaries(at(31)), []);
  });

  test('the last sample is the newest by time, whatever order the samples were recorded in', async () => {
    await store.recordHealth({ server: 'web', at: at(20), ok: false, latencyMs: null, error: 'late' });
    await store.recordHealth({ server: 'web', at: at(10), ok: true, latencyMs: 4, error: null });

    const [summary] = await store.healthSummaries(at(0));
    assert.equal(summary?.last?.at, at(20));
    assert.equal(summary?.last?.error, 'late');
    assert.equal(summary?.avgLatencyMs, 4);
  });

  test('pruneHealth deletes the samples older than the cutoff and says how many', async () => {
    for (const second of [1, 2, 3, 4]) await store.recordHealth({ server: 'web', at: at(second), ok: true, latencyMs: second, error: null });

    assert.equal(await store.pruneHealth(at(3)), 2);
    assert.equal(await store.pruneHealth(at(3)), 0);
    const [summary] = await store.healthSummaries(at(0));
    assert.equal(summary?.checks, 2);
    assert.equal(summary?.avgLatencyMs, 3.5);
  });

  test('admin events list newest first, a page at a time, with next as the cursor for the older page', async () => {
    const appended = [];
    for (let index = 1; index <= 5; index += 1) {
      appended.push(await store.appendAdminEvent({ at: at(index), actor: 'alice', action: 'server.create', target: `s${index}`, detail: { index, nested: { ok: true } } }));
    }
    const ids = appended.map((event) => event.id);
    assert.deepEqual([...ids].sort((left, right) => left - right), ids, 'ids grow');
    assert.deepEqual(appended[0], { id: ids[0], at: at(1), actor: 'alice', action: 'server.create', target: 's1', detail: { index: 1, nested: { ok: true } } });

    const first = await store.listAdminEvents({ limit: 2 });
    assert.deepEqual(first.items.map((event) => event.target), ['s5', 's4']);
    assert.equal(first.next, ids[3]);

    const second = await store.listAdminEvents({ limit: 2, before: first.next ?? 0 });
    assert.deepEqual(second.items.map((event) => event.target), ['s3', 's2']);
    assert.equal(second.next, ids[1]);

    const last = await store.listAdminEvents({ limit: 2, before: second.next ?? 0 });
    assert.deepEqual(last.items, [appended[0]]);
    assert.equal('next' in last, false, 'no next on the last page');

    const exact = await store.listAdminEvents({ limit: 5 });
    assert.equal(exact.items.length, 5);
    assert.equal('next' in exact, false, 'a page that ends exactly at the oldest event has no next');
    await assert.rejects(store.listAdminEvents({ limit: 0 }), isGatehouseError('internal'));
  });

  test('API keys read back by id with every field as written, and list oldest first (ties by id)', async () => {
    const scoped = apiKey('k2', {
      name: 'deploy',
      roles: ['writer', 'reader'],
      endpoints: ['github', 'triage'],
      createdAt: at(3),
      expiresAt: at(90),
      rotatedFrom: 'k0',
      createdBy: 'bob',
    });
    const revision = await store.revision();
    const put = await store.putApiKey(scoped);
    await store.putApiKey(apiKey('k3'));
    await store.putApiKey(apiKey('k1', { revokedAt: at(2), lastUsedAt: at(2) }));

    assert.deepEqual(put, scoped);
    assert.deepEqual(await store.getApiKey('k2'), scoped);
    assert.deepEqual(await store.getApiKey('k1'), apiKey('k1', { revokedAt: at(2), lastUsedAt: at(2) }));
    assert.equal(await store.getApiKey('missing'), undefined);
    assert.deepEqual((await store.listApiKeys()).map((key) => key.id), ['k1', 'k3', 'k2']);
    assert.equal(await store.revision(), revision, 'keys are not part of the catalogue revision');
  });

  test('API key times are stored canonically, whatever ISO form they were written in', async () => {
    const put = await store.putApiKey(apiKey('k1', { createdAt: '2031-01-01T00:00:01Z', expiresAt: '2031-01-01T01:00:01+01:00' }));
    assert.equal(put.createdAt, at(1));
    assert.equal(put.expiresAt, at(1));
    assert.equal((await store.getApiKey('k1'))?.expiresAt, at(1));
  });

  test('putting an API key whose id exists is internal and leaves the stored key as it was', async () => {
    await store.putApiKey(apiKey('k1'));
    await assert.rejects(store.putApiKey(apiKey('k1', { name: 'intruder', secretHash: 'cd'.repeat(32) })), isGatehouseError('internal', /k1 exists/));
    assert.deepEqual(await store.getApiKey('k1'), apiKey('k1'));
  });

  test('revoking an API key sets revokedAt once, keeps the first time, and is undefined for an unknown id', async () => {
    await store.putApiKey(apiKey('k1'));
    await store.putApiKey(apiKey('k2'));

    assert.deepEqual(await store.revokeApiKey('k1', at(5)), apiKey('k1', { revokedAt: at(5) }));
    assert.equal((await store.revokeApiKey('k1', at(9)))?.revokedAt, at(5));
    assert.equal((await store.getApiKey('k1'))?.revokedAt, at(5));
    assert.equal((await store.getApiKey('k2'))?.revokedAt, null, 'other keys are untouched');
    assert.equal(await store.revokeApiKey('missing', at(5)), undefined);
  });

  test('expiring an API key moves expiresAt earlier or sets it, never later', async () => {
    await store.putApiKey(apiKey('open'));
    await store.putApiKey(apiKey('dated', { expiresAt: at(100) }));

    assert.equal((await store.expireApiKey('open', at(50)))?.expiresAt, at(50), 'a key without expiry gets one');
    assert.equal((await store.expireApiKey('dated', at(60)))?.expiresAt, at(60), 'earlier wins');
    assert.equal((await store.expireApiKey('dated', at(80)))?.expiresAt, at(60), 'later is ignored');
    assert.equal((await store.getApiKey('dated'))?.expiresAt, at(60));
    assert.equal(await store.expireApiKey('missing', at(1)), undefined);
  });

  test('touching an API key moves lastUsedAt forward only; an unknown id is ignored', async () => {
    await store.putApiKey(apiKey('k1'));

    await store.touchApiKey('k1', at(10));
    assert.equal((await store.getApiKey('k1'))?.lastUsedAt, at(10));
    await store.touchApiKey('k1', at(5));
    assert.equal((await store.getApiKey('k1'))?.lastUsedAt, at(10), 'a late write from a slower replica does not move it back');
    await store.touchApiKey('k1', at(20));
    assert.equal((await store.getApiKey('k1'))?.lastUsedAt, at(20));
    await store.touchApiKey('missing', at(20));
    assert.equal(await store.getApiKey('missing'), undefined);
  });

  test('records cannot be changed through the objects passed in or handed out', async () => {
    const input = { name: 'web', spec: spec('web-mcp'), status: 'approved' as const, source: 'api' as const };
    const put = await store.putServer(input);
    input.spec.tags.push('mutated-input');
    put.spec.tags.push('mutated-output');
    const got = await store.getServer('web');
    got?.spec.tags.push('mutated-read');

    assert.deepEqual((await store.getServer('web'))?.spec.tags, ['dev']);

    const detail = { list: [1] };
    const event = await store.appendAdminEvent({ at: at(1), actor: 'a', action: 'b', target: 'c', detail });
    detail.list.push(2);
    (event.detail.list as number[]).push(3);
    assert.deepEqual((await store.listAdminEvents({ limit: 1 })).items[0]?.detail, { list: [1] });

    const roles = ['reader'];
    const endpoints = ['github'];
    const key = await store.putApiKey(apiKey('k1', { roles, endpoints }));
    roles.push('mutated-input');
    endpoints.push('mutated-input');
    (key.roles as string[]).push('mutated-output');
    ((await store.getApiKey('k1'))?.endpoints as string[]).push('mutated-read');
    ((await store.listApiKeys())[0]?.roles as string[]).push('mutated-list');
    assert.deepEqual(await store.getApiKey('k1'), apiKey('k1', { roles: ['reader'], endpoints: ['github'] }));

    const policyInput = { id: 'pol_a', position: 0, spec: policySpec('reader'), source: 'api' as const };
    const policy = await store.putPolicy(policyInput);
    policyInput.spec.servers.push('mutated-input');
    policy.spec.servers.push('mutated-output');
    (await store.getPolicy('pol_a'))?.spec.servers.push('mutated-read');
    (await store.listPolicies())[0]?.spec.servers.push('mutated-list');
    assert.deepEqual((await store.getPolicy('pol_a'))?.spec, policySpec('reader'));
  });

  test('user connections are kept per server and subject; replacing one keeps createdAt', async () => {
    const first = await store.putUserConnection({ server: 'crm', subject: 'alice', sealed: 'v1.one' });
    await store.putUserConnection({ server: 'crm', subject: 'bob', sealed: 'v1.bob' });
    await store.putUserConnection({ server: 'alpha', subject: 'alice', sealed: 'v1.alpha' });
    const replaced = await store.putUserConnection({ server: 'crm', subject: 'alice', sealed: 'v1.two' });
    assert.equal(replaced.createdAt, first.createdAt);
    assert.ok(replaced.updatedAt > first.updatedAt);
    assert.deepEqual(await store.getUserConnection('crm', 'alice'), replaced);
    assert.deepEqual((await store.listUserConnections('alice')).map((record) => [record.server, record.sealed]), [
      ['alpha', 'v1.alpha'],
      ['crm', 'v1.two'],
    ]);
    assert.equal(await store.deleteUserConnection('crm', 'alice'), true);
    assert.equal(await store.deleteUserConnection('crm', 'alice'), false);
    assert.equal(await store.getUserConnection('crm', 'alice'), undefined);
    assert.equal((await store.getUserConnection('crm', 'bob'))?.sealed, 'v1.bob');
  });

  test('an OAuth flow is taken once, and not after it expired', async () => {
    await store.putOAuthFlow({ state: 's1', server: 'crm', subject: 'alice', sealed: 'v1.f', expiresAt: at(100) });
    await store.putOAuthFlow({ state: 's2', server: 'crm', subject: 'bob', sealed: 'v1.g', expiresAt: at(10) });
    assert.equal(await store.takeOAuthFlow('s2', at(10)), undefined, 'expired at its expiry time');
    assert.deepEqual(await store.takeOAuthFlow('s1', at(50)), { state: 's1', server: 'crm', subject: 'alice', sealed: 'v1.f', expiresAt: at(100) });
    assert.equal(await store.takeOAuthFlow('s1', at(50)), undefined, 'single use');
  });
}

/** For the stores that keep their data in a database: reopening, migrations and schema versions. */
function persistenceContract(fresh: () => Promise<Subject>): void {
  let subject: Subject;

  beforeEach(async () => {
    subject = await fresh();
  });

  afterEach(async () => {
    await subject.dispose();
  });

  test('data survives close and reopen, and reopening migrates nothing twice', async () => {
    const store = await subject.open({ now: steppingClock() });
    const server = await store.putServer({ name: 'web', spec: spec('web-mcp'), status: 'approved', source: 'api' });
    const policy = await store.putPolicy({ id: 'pol_a', position: 0, spec: policySpec('reader'), source: 'api' });
    const event = await store.appendAdminEvent({ at: at(1), actor: 'alice', action: 'server.create', target: 'web', detail: {} });
    const revision = await store.revision();
    await store.close();
    await store.close();

    const reopened = await subject.open({ now: steppingClock() });
    try {
      assert.deepEqual(await reopened.getServer('web'), server);
      assert.deepEqual(await reopened.listPolicies(), [policy]);
      assert.equal(await reopened.revision(), revision);
      assert.deepEqual((await reopened.listAdminEvents({ limit: 10 })).items, [event]);
      const next = await reopened.appendAdminEvent({ at: at(2), actor: 'alice', action: 'server.delete', target: 'web', detail: {} });
      assert.ok(next.id > event.id, 'ids keep growing across a reopen');
    } finally {
      await reopened.close();
    }

    const raw = await subject.raw?.();
    assert.ok(raw !== undefined);
    try {
      const rows = await raw.selectFrom('gatehouse_schema').selectAll().execute();
      assert.deepEqual(rows, [{ id: 1, version: LATEST_SCHEMA_VERSION }]);
    } finally {
      await raw.destroy();
    }
  });

  test('a version-1 database gains the api_keys table when opened, and keeps its records', async () => {
    const store = await subject.open({ now: steppingClock() });
    const server = await store.putServer({ name: 'web', spec: spec('web-mcp'), status: 'approved', source: 'api' });
    await store.close();
    const raw = await subject.raw?.();
    assert.ok(raw !== undefined);
    try {
      // What a Gatehouse from before API keys left behind.
      await downgradeTo(raw, 1);
    } finally {
      await raw.destroy();
    }

    const upgraded = await subject.open({ now: steppingClock() });
    try {
      assert.deepEqual(await upgraded.getServer('web'), server);
      assert.deepEqual(await upgraded.listApiKeys(), []);
      await upgraded.putApiKey(apiKey('k1'));
      assert.deepEqual(await upgraded.getApiKey('k1'), apiKey('k1'));
    } finally {
      await upgraded.close();
    }
    const check = await subject.raw?.();
    assert.ok(check !== undefined);
    try {
      assert.deepEqual(await check.selectFrom('gatehouse_schema').selectAll().execute(), [{ id: 1, version: LATEST_SCHEMA_VERSION }]);
    } finally {
      await check.destroy();
    }
  });

  test('a version-2 database gains the policies table when opened, and keeps its records and revision', async () => {
    const store = await subject.open({ now: steppingClock() });
    const server = await store.putServer({ name: 'web', spec: spec('web-mcp'), status: 'approved', source: 'api' });
    await store.putApiKey(apiKey('k1'));
    const revision = await store.revision();
    await store.close();
    const raw = await subject.raw?.();
    assert.ok(raw !== undefined);
    try {
      // What a Gatehouse from before policies in the registry left behind.
      await downgradeTo(raw, 2);
    } finally {
      await raw.destroy();
    }

    const upgraded = await subject.open({ now: steppingClock() });
    try {
      assert.deepEqual(await upgraded.getServer('web'), server);
      assert.deepEqual(await upgraded.getApiKey('k1'), apiKey('k1'));
      assert.equal(await upgraded.revision(), revision);
      assert.deepEqual(await upgraded.listPolicies(), []);
      const put = await upgraded.putPolicy({ id: 'pol_a', position: 0, spec: policySpec('reader'), source: 'api' });
      assert.deepEqual(await upgraded.getPolicy('pol_a'), put);
      assert.ok((await upgraded.revision()) > revision);
    } finally {
      await upgraded.close();
    }
    const check = await subject.raw?.();
    assert.ok(check !== undefined);
    try {
      assert.deepEqual(await check.selectFrom('gatehouse_schema').selectAll().execute(), [{ id: 1, version: LATEST_SCHEMA_VERSION }]);
    } finally {
      await check.destroy();
    }
  });

  test('a database migrated by a newer Gatehouse is refused with store_schema_too_new', async () => {
    const store = await subject.open({});
    await store.close();
    const raw = await subject.raw?.();
    assert.ok(raw !== undefined);
    try {
      await raw.updateTable('gatehouse_schema').set({ version: LATEST_SCHEMA_VERSION + 1 }).execute();
    } finally {
      await raw.destroy();
    }

    await assert.rejects(
      subject.open({}),
      isGatehouseError(
        'store_schema_too_new',
        new RegExp(`database schema version ${LATEST_SCHEMA_VERSION + 1}, this Gatehouse knows up to ${LATEST_SCHEMA_VERSION}`),
      ),
    );
  });
}

describe('MemoryStore', () => {
  storeContract(async () => ({ open: async (options) => new MemoryStore(options), dispose: async () => undefined }));
});

async function sqliteSubject(): Promise<Subject> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-store-'));
  // A directory that does not exist yet: opening creates it.
  const file = join(dir, 'data', 'gatehouse.db');
  return {
    open: (options) => openSqliteStore(file, options),
    raw: async () => {
      const { default: Database } = await import('better-sqlite3');
      return new Kysely<RegistryTables>({ dialect: new SqliteDialect({ database: new Database(file) }) });
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

describe('SqliteStore', () => {
  storeContract(sqliteSubject);
  persistenceContract(sqliteSubject);

  test('the file is in WAL mode, so readers in other processes do not wait for a writer', async () => {
    const subject = await sqliteSubject();
    try {
      await (await subject.open({})).close();
      const raw = await subject.raw?.();
      assert.ok(raw !== undefined);
      try {
        const { rows } = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(raw);
        assert.deepEqual(rows, [{ journal_mode: 'wal' }]);
      } finally {
        await raw.destroy();
      }
    } finally {
      await subject.dispose();
    }
  });
});

describe('PostgresStore', { skip: postgresSkipReason() ?? false }, () => {
  let server: PostgresServer | undefined;

  before(async () => {
    server = await startPostgres();
  });

  after(async () => {
    await server?.stop();
  });

  async function postgresSubject(): Promise<Subject> {
    if (server === undefined) throw new Error('PostgreSQL did not start');
    const url = await server.newDatabase();
    return {
      open: (options) => openPostgresStore(url, options),
      raw: async () => new Kysely<RegistryTables>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) }),
      dispose: async () => undefined,
    };
  }

  storeContract(postgresSubject);
  persistenceContract(postgresSubject);

  test('two replicas opening an empty database at once both end on the newest schema', async () => {
    const subject = await postgresSubject();
    const stores = await Promise.all([subject.open({}), subject.open({}), subject.open({})]);
    try {
      await stores[0]?.putServer({ name: 'web', spec: spec('web-mcp'), status: 'approved', source: 'api' });
      for (const store of stores) assert.equal((await store.getServer('web'))?.name, 'web');
      assert.equal(await stores[2]?.revision(), 1);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  test('connections the server drops are store_unavailable at worst, never a crash, and the store recovers', async () => {
    const url = await (server ?? assert.fail('PostgreSQL did not start')).newDatabase();
    const store = await openPostgresStore(url);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await store.putServer({ name: 'web', spec: spec('web-mcp'), status: 'approved', source: 'api' });
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()');

      // A query may still go out on a connection whose end has not reached the pool yet.
      const deadline = Date.now() + 30_000;
      let found: string | undefined;
      while (found === undefined && Date.now() < deadline) {
        try {
          found = (await store.getServer('web'))?.name;
        } catch (error) {
          isGatehouseError('store_unavailable', /127\.0\.0\.1:\d+: /)(error);
        }
      }
      assert.equal(found, 'web');
    } finally {
      await admin.end();
      await store.close();
    }
  });
});

describe('openStore', () => {
  let dataDir: string;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-open-store-'));
  });

  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test('memory: opens an empty memory store', async () => {
    const store = await openStore('memory:', { dataDir });
    assert.equal(store.kind, 'memory');
    assert.deepEqual(await store.listServers(), []);
    await store.close();
  });

  test('a bare sqlite: opens gatehouse.db in the data dir; a relative path is taken from the data dir', async () => {
    const bare = await openStore('sqlite:', { dataDir });
    await bare.putServer({ name: 'web', spec: spec('web-mcp'), status: 'approved', source: 'api' });
    await bare.close();
    const byPath = await openStore(`sqlite:${join(dataDir, 'gatehouse.db')}`, { dataDir });
    assert.equal(byPath.kind, 'sqlite');
    assert.equal((await byPath.getServer('web'))?.name, 'web');
    await byPath.close();

    const relative = await openStore('sqlite:nested/other.db', { dataDir });
    await relative.putServer({ name: 'files', spec: spec('files-mcp'), status: 'approved', source: 'api' });
    await relative.close();
    const sameFile = await openStore(`sqlite:${join(dataDir, 'nested', 'other.db')}`, { dataDir });
    assert.deepEqual((await sameFile.listServers()).map((record) => record.name), ['files']);
    await sameFile.close();
  });

  test('any other URL is config_invalid, naming what is allowed and not repeating the URL', async () => {
    await assert.rejects(
      openStore('mysql://root:hunter2@db/gatehouse', { dataDir }),
      isGatehouseError('config_invalid', /"mysql:".*memory:.*sqlite:.*postgres:\/\//),
    );
    await assert.rejects(openStore('mysql://root:hunter2@db/gatehouse', { dataDir }), (error: Error) => !error.message.includes('hunter2'));
    await assert.rejects(openStore('gatehouse.db', { dataDir }), isGatehouseError('config_invalid'));
  });

  test('an unreachable PostgreSQL is store_unavailable with host and port, and never the password', async () => {
    // A port that was free a moment ago: nothing listens there.
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const address = probe.address();
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    assert.ok(address !== null && typeof address === 'object');

    await assert.rejects(openStore(`postgres://gatehouse:s3cret-pw@127.0.0.1:${address.port}/gatehouse`, { dataDir }), (error: unknown) => {
      isGatehouseError('store_unavailable', new RegExp(`127\\.0\\.0\\.1:${address.port}: `))(error);
      assert.ok(error instanceof Error && !error.message.includes('s3cret-pw'), 'no password in the message');
      return true;
    });
  });
});
