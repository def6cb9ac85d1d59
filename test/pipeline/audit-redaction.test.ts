// Redaction of audit records, the hash that chains them, and the bounded writer that queues them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_AUDIT_REDACT_FIELDS, DEFAULT_AUDIT_REDACT_PATTERNS } from '../../src/config/schema.js';
import { AuditWriter, Redactor, REDACTED, type AuditLogger } from '../../src/pipeline/index.js';
import { AUDIT_GENESIS_HASH, MemoryAuditStore, auditHash, verifyAudit, type AuditEntry, type AuditLink } from '../../src/registry/index.js';

const defaults = new Redactor({ fields: DEFAULT_AUDIT_REDACT_FIELDS, patterns: DEFAULT_AUDIT_REDACT_PATTERNS });

describe('redaction', () => {
  test('values under secret field names are replaced at any depth, whatever the spelling', () => {
    const input = {
      query: 'open issues',
      password: 'hunter2',
      nested: { GitHub_Token: 'abc', 'X-Api-Key': 'k', client_secret: { value: 's' }, items: [{ Authorization: 'Basic Zm9v' }] },
      max_tokens: 100,
      empty: null,
    };
    assert.deepEqual(defaults.redact(input), {
      query: 'open issues',
      password: REDACTED,
      nested: { GitHub_Token: REDACTED, 'X-Api-Key': REDACTED, client_secret: REDACTED, items: [{ Authorization: REDACTED }] },
      max_tokens: 100,
      empty: null,
    });
    // The input is left as it was: the same object goes upstream.
    assert.equal(input.password, 'hunter2');
  });

  test('credentials inside any string are replaced by the default patterns', () => {
    const secrets = [
      'Bearer eyJhbGciOiJIUzI1NiJ9abc',
      `ghk_${'A1b2C3d4E5'}_${'x'.repeat(43)}abcdef`,
      `ghp_${'a'.repeat(36)}`,
      'AKIAIOSFODNN7EXAMPLE',
      'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXBhcnQ',
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----',
      `xoxb-${'1234567890'}-abc`,
    ];
    for (const secret of secrets) {
      assert.equal(defaults.redact(`before ${secret} after`), `before ${REDACTED} after`, secret);
    }
    assert.equal(defaults.redact('nothing secret here, ghk_ short'), 'nothing secret here, ghk_ short');
  });

  test('e-mail addresses are replaced only when asked, and custom patterns apply', () => {
    assert.equal(defaults.redactText('mail alice@example.com'), 'mail alice@example.com');
    const strict = new Redactor({ fields: ['ssn'], patterns: [String.raw`\b\d{3}-\d{2}-\d{4}\b`], emails: true });
    assert.deepEqual(strict.redact({ note: 'alice@example.com has 123-45-6789', ssn: 'x', password: 'kept' }), {
      note: `${REDACTED} has ${REDACTED}`,
      ssn: REDACTED,
      password: 'kept',
    });
  });
});

function entry(requestId: string): AuditEntry {
  return {
    replicaId: 'r1',
    at: '2031-01-01T00:00:00.000Z',
    requestId,
    sessionId: null,
    subject: 'anonymous',
    user: null,
    identityKind: 'anonymous',
    team: null,
    keyId: null,
    clientName: null,
    clientVersion: null,
    endpoint: 'mcp',
    method: 'tools/call',
    server: 'everything',
    name: 'echo',
    arguments: '{"message":"hi"}',
    outcome: 'ok',
    errorCode: null,
    resultBytes: 10,
    isError: false,
    result: null,
    latencyMs: 1.5,
  };
}

describe('hash chain', () => {
  test('a hash covers every field and the previous hash', () => {
    const base = auditHash(AUDIT_GENESIS_HASH, entry('1'), 1);
    assert.match(base, /^[0-9a-f]{64}$/);
    assert.equal(auditHash(AUDIT_GENESIS_HASH, entry('1'), 1), base);
    assert.notEqual(auditHash(AUDIT_GENESIS_HASH, entry('2'), 1), base);
    assert.notEqual(auditHash(AUDIT_GENESIS_HASH, entry('1'), 2), base);
    assert.notEqual(auditHash('f'.repeat(64), entry('1'), 1), base);
    assert.notEqual(auditHash(AUDIT_GENESIS_HASH, { ...entry('1'), isError: true }, 1), base);
    assert.notEqual(auditHash(AUDIT_GENESIS_HASH, { ...entry('1'), latencyMs: 1.25 }, 1), base);
  });
});

/** A real memory store whose writes wait until the test opens the gate: a database that has stalled. */
class StalledStore extends MemoryAuditStore {
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  appends = 0;

  stall(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  resume(): void {
    this.open?.();
    this.gate = undefined;
  }

  override async appendAudit(replicaId: string, entries: readonly AuditEntry[]): Promise<AuditLink | undefined> {
    this.appends += 1;
    await this.gate;
    return super.appendAudit(replicaId, entries);
  }
}

const warnings: string[] = [];
const logger: AuditLogger = { warn: (_detail, message) => warnings.push(message), error: (_detail, message) => warnings.push(message) };

describe('audit writer', () => {
  test('writes a batch as soon as it is full, and everything left on close', async () => {
    const store = new StalledStore();
    const writer = new AuditWriter({ store, replicaId: 'r1', max: 100, batch: 3, flushMs: 60_000, overload: 'block', logger });
    await writer.start();
    for (const id of ['1', '2', '3', '4']) assert.equal(writer.accept(entry(id)), undefined);
    await writer.flush();
    assert.equal((await store.queryAudit({ limit: 10 })).items.length, 4);
    writer.accept(entry('5'));
    await writer.close();
    const verification = await verifyAudit(store);
    assert.equal(verification.ok, true);
    assert.equal(verification.chains[0]?.rows, 5);
  });

  test('with overload drop, a full queue drops records and counts them; memory stays bounded', async () => {
    const store = new StalledStore();
    const writer = new AuditWriter({ store, replicaId: 'r1', max: 4, batch: 2, flushMs: 60_000, overload: 'drop', logger });
    await writer.start();
    store.stall();
    for (let index = 0; index < 10; index++) assert.equal(writer.accept(entry(String(index))), undefined);
    assert.ok(writer.depth <= 4, `depth ${writer.depth}`);
    assert.ok(writer.dropped >= 6 - 2, `dropped ${writer.dropped}`);
    store.resume();
    await writer.close();
    const written = (await store.queryAudit({ limit: 100 })).items.length;
    assert.equal(written + writer.dropped, 10);
  });

  test('with overload block, a call waits for room and nothing is lost', async () => {
    const store = new StalledStore();
    const writer = new AuditWriter({ store, replicaId: 'r1', max: 2, batch: 2, flushMs: 60_000, overload: 'block', logger });
    await writer.start();
    store.stall();
    const results = Array.from({ length: 6 }, (_, index) => writer.accept(entry(String(index))));
    const blocked = results.filter((result) => result !== undefined);
    assert.ok(blocked.length >= 2, `${blocked.length} blocked`);
    let released = false;
    const all = Promise.all(blocked).then(() => (released = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(released, false);
    store.resume();
    await writer.flush();
    await all;
    await writer.close();
    assert.equal(writer.dropped, 0);
    assert.equal((await store.queryAudit({ limit: 100 })).items.length, 6);
  });

  test('maxRecords keeps the newest records and the chain stays verifiable', async () => {
    const store = new MemoryAuditStore();
    const writer = new AuditWriter({ store, replicaId: 'r1', max: 100, batch: 100, flushMs: 60_000, overload: 'block', maxRecords: 3, logger });
    await writer.start();
    for (let index = 0; index < 8; index++) writer.accept({ ...entry(String(index)), at: new Date(Date.UTC(2031, 0, 1, 0, 0, index)).toISOString() });
    await writer.flush();
    assert.equal(await writer.prune(), 5);
    const kept = (await store.queryAudit({ limit: 10, order: 'asc' })).items;
    assert.deepEqual(
      kept.map((row) => row.requestId),
      ['5', '6', '7'],
    );
    assert.deepEqual((await verifyAudit(store)).problems, []);
    await writer.close();
  });

  test('on start, intents a killed predecessor left are recorded with outcome unknown', async () => {
    const store = new MemoryAuditStore();
    const { outcome: _o, errorCode: _e, resultBytes: _r, isError: _i, result: _c, latencyMs: _l, ...call } = entry('9');
    const [id] = await store.insertAuditIntents([call]);
    await store.insertAuditIntents([{ ...call, replicaId: 'someone-else' }]);
    const writer = new AuditWriter({ store, replicaId: 'r1', max: 10, batch: 10, flushMs: 60_000, overload: 'block', logger });
    await writer.start();
    await writer.close();
    const rows = (await store.queryAudit({ limit: 10, order: 'asc' })).items;
    assert.deepEqual(
      rows.map((row) => [row.id === id, row.replicaId, row.outcome, row.seq]),
      [
        [true, 'r1', 'unknown', 1],
        [false, 'someone-else', 'pending', null],
      ],
    );
  });
});
