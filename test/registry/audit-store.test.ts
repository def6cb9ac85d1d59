// The audit trail's store contract, run against memory, SQLite and PostgreSQL (DESIGN: contract tests),
// and hash-chain verification against rows changed and deleted behind the gateway's back.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, test } from 'node:test';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import {
  AUDIT_GENESIS_HASH,
  MemoryStore,
  openPostgresStore,
  openSqliteStore,
  verifyAudit,
  type AuditCall,
  type AuditEntry,
  type AuditTables,
  type Store,
} from '../../src/registry/index.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../helpers/postgres.js';

interface Subject {
  open(): Promise<Store>;
  /** The SQL stores: the same tables through a plain Kysely, to change them as someone with database access could. */
  raw?: () => Promise<Kysely<AuditTables>>;
  /** Intents go to a journal beside the database file (SQLite), rows only once the store closes or its process is gone. */
  journal?: boolean;
  dispose(): Promise<void>;
}

const at = (seconds: number): string => new Date(Date.parse('2031-01-01T00:00:00.000Z') + seconds * 1000).toISOString();

function call(overrides: Partial<AuditCall> = {}): AuditCall {
  return {
    replicaId: 'replica-a',
    at: at(0),
    requestId: '7',
    sessionId: 'session-1',
    subject: 'key123',
    user: 'ci-bot',
    identityKind: 'api-key',
    team: 'platform',
    keyId: 'key123',
    clientName: 'claude-code',
    clientVersion: '1.2.3',
    endpoint: 'mcp',
    method: 'tools/call',
    server: 'github',
    name: 'create_issue',
    arguments: '{"title":"hello","token":"[REDACTED]"}',
    ...overrides,
  };
}

function entry(overrides: Partial<AuditEntry> = {}): AuditEntry {
  return { ...call(overrides), outcome: 'ok', errorCode: null, resultBytes: 120, isError: false, result: null, latencyMs: 12.5, ...overrides };
}

function auditContract(fresh: () => Promise<Subject>): void {
  let subject: Subject;
  let store: Store;

  beforeEach(async () => {
    subject = await fresh();
    store = await subject.open();
  });

  afterEach(async () => {
    await store.close();
    await subject.dispose();
  });

  /** Where intents are journalled, a restart makes the open ones pending rows; elsewhere they already are. */
  async function intentsAsRows(): Promise<void> {
    if (subject.journal !== true) return;
    await store.close();
    store = await subject.open();
  }

  test('appended records are chained one after another from the genesis hash and read back as written', async () => {
    const head = await store.audit.appendAudit('replica-a', [entry({ requestId: '1' }), entry({ requestId: '2', outcome: 'denied', errorCode: 'call_denied', resultBytes: null, isError: null })]);
    assert.equal(head?.seq, 2);
    const { items } = await store.audit.queryAudit({ limit: 10, order: 'asc' });
    assert.equal(items.length, 2);
    const [first, second] = items;
    assert.deepEqual({ ...first, id: 0 }, { ...entry({ requestId: '1' }), upstream: null, id: 0, seq: 1, prevHash: AUDIT_GENESIS_HASH, hash: first?.hash });
    assert.equal(second?.prevHash, first?.hash);
    assert.equal(second?.outcome, 'denied');
    assert.equal(second?.isError, null);
    assert.deepEqual(await store.audit.auditHead('replica-a'), { replicaId: 'replica-a', seq: 2, hash: second?.hash });
    assert.deepEqual((await verifyAudit(store.audit)).problems, []);
  });

  test('intents written together get their ids in the order given, each its own pending row', async () => {
    const ids = await store.audit.insertAuditIntents([call({ requestId: 'a' }), call({ requestId: 'b' }), call({ requestId: 'c' })]);
    assert.equal(new Set(ids).size, 3);
    await intentsAsRows();
    const pending = await store.audit.pendingAudit('replica-a');
    assert.deepEqual(
      pending.map((row) => [row.requestId, row.outcome]),
      [
        ['a', 'pending'],
        ['b', 'pending'],
        ['c', 'pending'],
      ],
    );
    if (subject.journal !== true) assert.deepEqual(pending.map((row) => row.id), ids);
  });

  test('intents written while batch appends hold a transaction are neither lost nor part of it', async () => {
    // Each intent starts a few microtasks later than the last, so some land inside an append's open
    // transaction (between its statements) and some outside.
    const work: Promise<unknown>[] = [];
    const intents: Promise<number[]>[] = [];
    for (let index = 0; index < 12; index++) {
      work.push(store.audit.appendAudit('replica-a', [entry({ requestId: `appended-${index}` })]));
      for (let turn = 0; turn < index; turn++) await Promise.resolve();
      intents.push(store.audit.insertAuditIntents([call({ requestId: `during-${index}` })]));
    }
    const ids = (await Promise.all(intents)).flat();
    await Promise.all(work);
    await intentsAsRows();
    const pending = await store.audit.pendingAudit('replica-a');
    // Ids follow the order of the writes, which is not the order they were asked for (journal ids count down from -1).
    const byId = (a: [number, string], b: [number, string]): number => Math.abs(a[0]) - Math.abs(b[0]);
    const written = ids.map((id, index): [number, string] => [id, `during-${index}`]).sort(byId);
    assert.deepEqual(pending.map((row) => row.requestId), written.map(([, requestId]) => requestId));
    if (subject.journal !== true) assert.deepEqual(pending.map((row) => row.id), written.map(([id]) => id));
    assert.equal((await verifyAudit(store.audit)).ok, true);
  });

  test('an intent is a pending, unchained row until its outcome completes that same row', async () => {
    await store.audit.insertAuditIntents([call()]);
    await intentsAsRows();
    const pending = await store.audit.pendingAudit('replica-a');
    const id = pending[0]?.id;
    assert.deepEqual(
      pending.map((row) => [row.outcome, row.seq, row.hash]),
      [['pending', null, null]],
    );
    assert.deepEqual(await store.audit.pendingAudit('replica-b'), []);
    await store.audit.appendAudit('replica-a', [{ ...entry(), intentId: id }]);
    const { items } = await store.audit.queryAudit({ limit: 10 });
    assert.deepEqual(
      items.map((row) => [row.id, row.outcome, row.seq]),
      [[id, 'ok', 1]],
    );
    assert.deepEqual(await store.audit.pendingAudit('replica-a'), []);
    assert.equal((await verifyAudit(store.audit)).ok, true);
  });

  test('the replica that served a call is kept and covered by the hash; a row without one verifies as before', async () => {
    await store.audit.appendAudit('replica-a', [entry({ requestId: 'none' }), { ...entry({ requestId: 'served' }), upstream: 'http://10.0.0.7:3001/mcp' }]);
    const { items } = await store.audit.queryAudit({ limit: 10, order: 'asc' });
    assert.deepEqual(
      items.map((row) => [row.requestId, row.upstream]),
      [
        ['none', null],
        ['served', 'http://10.0.0.7:3001/mcp'],
      ],
    );
    assert.equal((await verifyAudit(store.audit)).ok, true);
    const raw = await subject.raw?.();
    if (raw === undefined) return;
    try {
      await raw.updateTable('audit_records').set({ upstream: 'http://10.0.0.8:3001/mcp' }).where('request_id', '=', 'served').execute();
      assert.deepEqual(
        (await verifyAudit(store.audit)).problems.map((problem) => problem.seq),
        [2],
      );
    } finally {
      await raw.destroy();
    }
  });

  test('each replica extends its own chain', async () => {
    await store.audit.appendAudit('replica-a', [entry(), entry()]);
    await store.audit.appendAudit('replica-b', [entry({ replicaId: 'replica-b' })]);
    await store.audit.appendAudit('replica-a', [entry()]);
    const verification = await verifyAudit(store.audit);
    assert.equal(verification.ok, true);
    assert.deepEqual(
      verification.chains.map((chain) => [chain.replicaId, chain.rows, chain.head?.seq]),
      [
        ['replica-a', 3, 3],
        ['replica-b', 1, 1],
      ],
    );
  });

  test('appends racing on one replica id still make one unbroken chain', async () => {
    await Promise.all(Array.from({ length: 6 }, (_, index) => store.audit.appendAudit('replica-a', [entry({ requestId: String(index) }), entry()])));
    const verification = await verifyAudit(store.audit);
    assert.deepEqual(verification.problems, []);
    assert.equal(verification.chains[0]?.rows, 12);
  });

  test('queries filter by user, server, tool, outcome and time, newest first, a page at a time', async () => {
    await store.audit.appendAudit('replica-a', [
      entry({ at: at(1), subject: 'alice', user: 'alice@example.com', name: 'create_issue' }),
      entry({ at: at(2), subject: 'bob', user: null, name: 'list_issues', outcome: 'error', errorCode: 'upstream_timeout' }),
      entry({ at: at(3), subject: 'alice', user: 'alice@example.com', server: 'files', name: 'read' }),
      entry({ at: at(4), subject: 'alice', user: 'alice@example.com', name: 'create_issue' }),
    ]);
    const names = async (query: Parameters<Store['audit']['queryAudit']>[0]): Promise<string[]> =>
      (await store.audit.queryAudit(query)).items.map((row) => `${row.subject}:${row.name}@${row.at.slice(17, 19)}`);
    assert.deepEqual(await names({ limit: 10, user: 'alice' }), ['alice:create_issue@04', 'alice:read@03', 'alice:create_issue@01']);
    assert.deepEqual(await names({ limit: 10, user: 'alice@example.com', server: 'github' }), ['alice:create_issue@04', 'alice:create_issue@01']);
    assert.deepEqual(await names({ limit: 10, tool: 'list_issues' }), ['bob:list_issues@02']);
    assert.deepEqual(await names({ limit: 10, outcome: 'error' }), ['bob:list_issues@02']);
    assert.deepEqual(await names({ limit: 10, since: at(2), until: at(4) }), ['alice:read@03', 'bob:list_issues@02']);

    const first = await store.audit.queryAudit({ limit: 3 });
    assert.equal(first.items.length, 3);
    assert.ok(first.next !== undefined);
    const second = await store.audit.queryAudit({ limit: 3, cursor: first.next });
    assert.deepEqual(second.items.map((row) => row.at), [at(1)]);
    assert.equal(second.next, undefined);
    const ascending = await store.audit.queryAudit({ limit: 2, order: 'asc' });
    const rest = await store.audit.queryAudit({ limit: 2, order: 'asc', cursor: ascending.next });
    assert.deepEqual([...ascending.items, ...rest.items].map((row) => row.at), [at(1), at(2), at(3), at(4)]);
  });

  test('pruning deletes the oldest part of each chain and leaves the rest verifiable from an anchor', async () => {
    await store.audit.appendAudit('replica-a', [entry({ at: at(1) }), entry({ at: at(2) }), entry({ at: at(3) }), entry({ at: at(4) })]);
    await store.audit.insertAuditIntents([call({ at: at(1) })]);
    await intentsAsRows();
    const removed = await store.audit.pruneAudit(at(3));
    assert.equal(removed, 3);
    const { items } = await store.audit.queryAudit({ limit: 10, order: 'asc' });
    assert.deepEqual(items.map((row) => row.seq), [3, 4]);
    const [start] = await store.audit.auditChainStarts();
    assert.equal(start?.seq, 2);
    assert.equal(start?.hash, items[0]?.prevHash);
    assert.deepEqual((await verifyAudit(store.audit)).problems, []);
    // The chain goes on from where it was.
    await store.audit.appendAudit('replica-a', [entry({ at: at(5) })]);
    assert.equal((await verifyAudit(store.audit)).ok, true);
    await store.audit.pruneAudit(at(100));
    assert.equal((await store.audit.auditHead('replica-a'))?.seq, 5);
    await store.audit.appendAudit('replica-a', [entry({ at: at(101) })]);
    const verification = await verifyAudit(store.audit);
    assert.equal(verification.ok, true);
    assert.equal(verification.chains[0]?.head?.seq, 6);
  });

  test('an outcome whose intent was pruned meanwhile is written as a row of its own, chained', async () => {
    await store.audit.insertAuditIntents([call({ requestId: 'kept', at: at(5) }), call({ requestId: 'pruned', at: at(1) })]);
    await intentsAsRows();
    const [kept, pruned] = (await store.audit.pendingAudit('replica-a')).map((row) => row.id);
    assert.equal(await store.audit.pruneAudit(at(3)), 1);
    await store.audit.appendAudit('replica-a', [
      { ...entry({ requestId: 'pruned', at: at(1) }), intentId: pruned! },
      { ...entry({ requestId: 'kept', at: at(5) }), intentId: kept! },
    ]);
    const { items } = await store.audit.queryAudit({ limit: 10, order: 'asc' });
    assert.deepEqual(
      items.map((row) => [row.requestId, row.seq, row.outcome, row.id === kept]),
      [['kept', 2, 'ok', true], ['pruned', 1, 'ok', false]],
    );
    assert.deepEqual(await store.audit.pendingAudit('replica-a'), []);
    assert.deepEqual((await verifyAudit(store.audit)).problems, []);
  });

  test('auditTimeOfNewest names the time of the oldest record the newest N would keep', async () => {
    assert.equal(await store.audit.auditTimeOfNewest(1), undefined);
    await store.audit.appendAudit('replica-a', [entry({ at: at(1) }), entry({ at: at(3) })]);
    await store.audit.appendAudit('replica-b', [entry({ replicaId: 'replica-b', at: at(2) })]);
    assert.equal(await store.audit.auditTimeOfNewest(1), at(3));
    assert.equal(await store.audit.auditTimeOfNewest(2), at(2));
    assert.equal(await store.audit.auditTimeOfNewest(3), at(1));
    assert.equal(await store.audit.auditTimeOfNewest(4), undefined);
  });

  test('verification reports a modified row and a deleted row', async () => {
    const raw = await subject.raw?.();
    if (raw === undefined) return; // the memory store has no one to change it behind its back
    try {
      await store.audit.appendAudit('replica-a', [entry({ requestId: '1' }), entry({ requestId: '2' }), entry({ requestId: '3' }), entry({ requestId: '4' }), entry({ requestId: '5' })]);
      assert.equal((await verifyAudit(store.audit)).ok, true);

      await raw.updateTable('audit_records').set({ arguments: '{"title":"something else"}' }).where('seq', '=', 2).execute();
      let verification = await verifyAudit(store.audit);
      assert.equal(verification.ok, false);
      assert.deepEqual(verification.problems.map((problem) => [problem.kind, problem.seq]), [['modified', 2]]);

      await raw.deleteFrom('audit_records').where('seq', '=', 4).execute();
      verification = await verifyAudit(store.audit);
      assert.deepEqual(verification.problems.map((problem) => [problem.kind, problem.seq]), [
        ['modified', 2],
        ['missing', 5],
      ]);

      // The first row too: the chain must start at seq 1 (or right after its pruning anchor).
      await raw.deleteFrom('audit_records').where('seq', '=', 1).execute();
      verification = await verifyAudit(store.audit);
      assert.deepEqual(verification.problems.map((problem) => [problem.kind, problem.seq]), [
        ['missing', 2],
        ['modified', 2],
        ['missing', 5],
      ]);
    } finally {
      await raw.destroy();
    }
  });
}

describe('audit store: memory', () => {
  auditContract(async () => {
    const store = new MemoryStore();
    return { open: async () => store, dispose: async () => undefined };
  });
});

describe('audit store: SQLite', () => {
  auditContract(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-audit-'));
    const file = join(dir, 'gatehouse.db');
    return {
      open: () => openSqliteStore(file),
      journal: true,
      raw: async () => {
        const { default: Database } = await import('better-sqlite3');
        return new Kysely<AuditTables>({ dialect: new SqliteDialect({ database: new Database(file) }) });
      },
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  });
});

describe('audit store: PostgreSQL', { skip: postgresSkipReason() ?? false }, () => {
  let server: PostgresServer | undefined;

  before(async () => {
    server = await startPostgres();
  });

  after(async () => {
    await server?.stop();
  });

  auditContract(async () => {
    if (server === undefined) throw new Error('PostgreSQL did not start');
    const url = await server.newDatabase();
    return {
      open: () => openPostgresStore(url),
      raw: async () => {
        const pool = new pg.Pool({ connectionString: url, max: 1 });
        // The server stops after the suite; an idle connection it drops must not be an uncaught error.
        pool.on('error', () => undefined);
        return new Kysely<AuditTables>({ dialect: new PostgresDialect({ pool }) });
      },
      dispose: async () => undefined,
    };
  });
});
