// The SQLite store's intent journal (registry/intent-journal.ts): intents live in segment files beside
// the database until their completed rows are committed; what a dead process left is imported once.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Kysely, SqliteDialect } from 'kysely';
import { AuditWriter } from '../../src/pipeline/index.js';
import { openSqliteStore, verifyAudit, type AuditCall, type AuditEntry, type AuditTables } from '../../src/registry/index.js';
import { readSegments } from '../../src/registry/intent-journal.js';

function call(requestId: string, argumentsJson = '{"path":"/tmp/x"}'): AuditCall {
  return {
    replicaId: 'replica-a',
    at: new Date().toISOString(),
    requestId,
    sessionId: 'session-1',
    subject: 'anonymous',
    user: null,
    identityKind: 'anonymous',
    team: null,
    keyId: null,
    clientName: 'journal-test',
    clientVersion: '1',
    endpoint: '/mcp',
    method: 'tools/call',
    server: 'files',
    name: 'write_file',
    arguments: argumentsJson,
  };
}

function completed(intent: AuditCall, intentId?: number): AuditEntry {
  return { ...intent, outcome: 'ok', errorCode: null, resultBytes: 10, isError: false, result: null, latencyMs: 1.5, ...(intentId !== undefined && { intentId }) };
}

/** A process id that certainly belonged to a process now gone. */
function deadPid(): number {
  const { pid } = spawnSync(process.execPath, ['-e', '']);
  assert.ok(pid !== undefined && pid > 0);
  return pid;
}

describe('intent journal (SQLite)', () => {
  let dir: string;
  let file: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-journal-'));
    file = join(dir, 'gatehouse.db');
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const journalFiles = async (): Promise<string[]> => (await readdir(dir)).filter((name) => name.startsWith('gatehouse.db-intents.')).sort();

  async function rawRows(): Promise<{ request_id: string | null; outcome: string; intent: string | null }[]> {
    const { default: Database } = await import('better-sqlite3');
    const raw = new Kysely<AuditTables>({ dialect: new SqliteDialect({ database: new Database(file) }) });
    try {
      return await raw.selectFrom('audit_records').select(['request_id', 'outcome', 'intent']).orderBy('id').execute();
    } finally {
      await raw.destroy();
    }
  }

  test('intents stay in the journal, not the database, until their rows are written; nothing is left after close', async () => {
    const store = await openSqliteStore(file);
    const calls = [call('1'), call('2')];
    const ids = await store.audit.insertAuditIntents(calls);
    assert.ok(ids.every((id) => id < 0), `journal ids are negative: ${ids.join(', ')}`);
    assert.equal((await journalFiles()).length, 1);
    assert.deepEqual(await store.audit.pendingAudit('replica-a'), []);
    await store.audit.appendAudit('replica-a', calls.map((intent, index) => completed(intent, ids[index])));
    await store.close();
    assert.deepEqual(await journalFiles(), []);
    const rows = await rawRows();
    assert.deepEqual(rows.map((row) => [row.request_id, row.outcome]), [['1', 'ok'], ['2', 'ok']]);
    assert.ok(rows.every((row) => typeof row.intent === 'string' && row.intent !== ''), 'each row carries its intent\'s key');
    assert.notEqual(rows[0]?.intent, rows[1]?.intent);
  });

  test('an intent still open at close (its outcome was dropped) becomes a pending row', async () => {
    const store = await openSqliteStore(file);
    const [done] = await store.audit.insertAuditIntents([call('done')]);
    await store.audit.insertAuditIntents([call('dropped')]);
    await store.audit.appendAudit('replica-a', [completed(call('done'), done)]);
    await store.close();
    assert.deepEqual(await journalFiles(), []);
    assert.deepEqual((await rawRows()).map((row) => [row.request_id, row.outcome]), [['done', 'ok'], ['dropped', 'pending']]);
  });

  test('a dead process\'s journal is imported once at the next open: completed intents skipped, a torn last line ignored', async () => {
    const first = await openSqliteStore(file);
    const finished = call('finished');
    await first.audit.appendAudit('replica-a', [completed(finished)]);
    await first.close();
    // What a killed gateway leaves: a segment whose first intent's row was committed, whose second was
    // in flight, and whose last line the kill cut short.
    const { default: Database } = await import('better-sqlite3');
    const database = new Database(file);
    database.prepare('update audit_records set intent = ? where request_id = ?').run('tok:1', 'finished');
    database.close();
    const segment = join(dir, `gatehouse.db-intents.${deadPid()}.tok.0`);
    const inFlight = call('in-flight');
    await writeFile(segment, [JSON.stringify(['tok:1', finished]), JSON.stringify(['tok:2', inFlight]), '["tok:3",{"replicaId":"rep'].join('\n'));
    // A segment of a live process (this one's parent) is left alone.
    const liveSegment = `gatehouse.db-intents.${process.ppid}.other.0`;
    await writeFile(join(dir, liveSegment), `${JSON.stringify(['other:1', call('elsewhere')])}\n`);

    const second = await openSqliteStore(file);
    try {
      const pending = await second.audit.pendingAudit('replica-a');
      assert.deepEqual(pending.map((row) => [row.requestId, row.outcome, row.seq]), [['in-flight', 'pending', null]]);
      assert.deepEqual(await journalFiles(), [liveSegment]);
      // The recovered row completes like any intent row, and the chain stays whole.
      await second.audit.appendAudit('replica-a', [{ ...completed(inFlight), outcome: 'unknown', intentId: pending[0]!.id }]);
      assert.deepEqual((await verifyAudit(second.audit)).problems, []);
    } finally {
      await second.close();
    }
    const third = await openSqliteStore(file);
    await third.close();
    assert.deepEqual((await rawRows()).map((row) => [row.request_id, row.outcome]), [['finished', 'ok'], ['in-flight', 'unknown']]);
  });

  test('a full segment is retired and deleted once every intent in it is written', async () => {
    const store = await openSqliteStore(file);
    try {
      // ~600 KB each: the first segment is full after two.
      const big = (id: string): AuditCall => call(id, JSON.stringify({ content: 'x'.repeat(600 * 1024) }));
      const calls = [big('1'), big('2'), big('3')];
      const ids = [...(await store.audit.insertAuditIntents(calls.slice(0, 2))), ...(await store.audit.insertAuditIntents(calls.slice(2)))];
      assert.equal((await journalFiles()).length, 2);
      await store.audit.appendAudit('replica-a', [completed(calls[0]!, ids[0])]);
      assert.equal((await journalFiles()).length, 2, 'the first segment still holds an open intent');
      await store.audit.appendAudit('replica-a', [completed(calls[1]!, ids[1])]);
      assert.equal((await journalFiles()).length, 1);
      await store.audit.appendAudit('replica-a', [completed(calls[2]!, ids[2])]);
    } finally {
      await store.close();
    }
    assert.deepEqual(await journalFiles(), []);
  });

  test('a full segment whose other intents were dropped becomes pending rows and is deleted while the store runs', async () => {
    const store = await openSqliteStore(file);
    const silent = { warn: () => undefined, error: () => undefined };
    // Room for one record: with overload `drop`, the next records are thrown away.
    const writer = new AuditWriter({ store: store.audit, replicaId: 'replica-a', max: 1, batch: 100, flushMs: 60_000, overload: 'drop', logger: silent });
    try {
      await writer.start();
      // ~300 KB each: the first segment is full after four.
      const calls = ['kept', 'dropped-1', 'dropped-2', 'dropped-3', 'next'].map((id) => call(id, JSON.stringify({ content: 'x'.repeat(300 * 1024) })));
      const ids = calls.map((intent) => writer.intent(intent));
      assert.ok(ids.every((id) => typeof id === 'number'));
      assert.equal((await journalFiles()).length, 2);
      for (const [index, intent] of calls.slice(0, 4).entries()) writer.accept({ ...completed(intent), intentId: ids[index] as number });
      assert.equal(writer.dropped, 3);
      await writer.flush();
      // The first segment held one written row and three dropped outcomes: imported, then deleted.
      assert.equal((await journalFiles()).length, 1, 'only the segment still in use is left');
      const pending = await store.audit.pendingAudit('replica-a');
      assert.deepEqual(pending.map((row) => row.requestId), ['dropped-1', 'dropped-2', 'dropped-3']);
      assert.ok(pending.every((row) => row.outcome === 'pending'));
    } finally {
      await writer.close();
      await store.close();
    }
    // The last intent, still open at close, joins them; nothing of the journal is left.
    assert.deepEqual(await journalFiles(), []);
    assert.deepEqual((await rawRows()).map((row) => [row.request_id, row.outcome]), [
      ['kept', 'ok'],
      ['dropped-1', 'pending'],
      ['dropped-2', 'pending'],
      ['dropped-3', 'pending'],
      ['next', 'pending'],
    ]);
  });

  test('the audit writer journals a lone intent before it returns, and the intents of calls in flight together in one write', async () => {
    const store = await openSqliteStore(file);
    const silent = { warn: () => undefined, error: () => undefined };
    const writer = new AuditWriter({ store: store.audit, replicaId: 'replica-a', max: 100, batch: 100, flushMs: 60_000, overload: 'block', logger: silent });
    try {
      await writer.start();
      // No other call in flight: written now, no promise.
      const lone = writer.intent(call('lone'));
      assert.equal(typeof lone, 'number');
      // Read synchronously: an await here would let the event loop's turn end.
      const segments = (await journalFiles()).map((name) => join(dir, name));
      const journalled = (): (string | null)[] => readSegments(segments).map((intent) => intent.call.requestId);
      assert.deepEqual(journalled(), ['lone']);
      // Calls in flight together: gathered until the end of the event loop's turn, then one write.
      const together = ['a', 'b', 'c'].map((id) => writer.intent(call(id), true));
      assert.ok(together.every((written) => written instanceof Promise));
      assert.deepEqual(journalled(), ['lone'], 'nothing written before the turn ends');
      await together[0];
      assert.deepEqual(journalled(), ['lone', 'a', 'b', 'c'], 'the first resolves only once all three are durable');
      const ids = await Promise.all(together);
      assert.equal(new Set([lone, ...ids]).size, 4);
      assert.ok(ids.every((id) => id < 0), 'journal ids are negative');
    } finally {
      await writer.close();
      await store.close();
    }
  });
});
