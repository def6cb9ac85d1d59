// API keys: the token format and its strict parsing, hashing, and the registry's key lifecycle
// (create, verify, expire, revoke, rotate with an overlap) over real stores. Time is a clock the
// tests move by hand, never a sleep.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { GatehouseError } from '../../src/core/index.js';
import {
  API_KEY_LENGTH,
  MemoryStore,
  Registry,
  generateApiKey,
  hashSecret,
  isApiKeyToken,
  openSqliteStore,
  parseApiKey,
  parseDuration,
  secretMatches,
  serverSchema,
  virtualServerSchema,
  type Store,
} from '../../src/registry/index.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A clock that stands still until a test moves it. */
function manualClock(start = '2030-01-01T00:00:00.000Z'): { now: () => Date; advance(ms: number): void; iso(offsetMs?: number): string } {
  let current = Date.parse(start);
  return {
    now: () => new Date(current),
    advance: (ms) => {
      current += ms;
    },
    iso: (offsetMs = 0) => new Date(current + offsetMs).toISOString(),
  };
}

async function openRegistry(store: Store, now: () => Date): Promise<Registry> {
  const registry = await Registry.open({ store, separator: '__', defaultStatus: 'approved', stdioRegistration: { enabled: false, allowedCommands: [] }, now });
  await registry.seed({
    servers: { github: serverSchema.parse({ url: 'http://127.0.0.1:9/mcp' }), docs: serverSchema.parse({ url: 'http://127.0.0.1:9/docs' }) },
    virtualServers: { triage: virtualServerSchema.parse({ tools: [{ server: 'github', name: '*' }] }) },
  });
  return registry;
}

function unauthorized(message: RegExp | string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof GatehouseError, `expected a GatehouseError, got ${String(error)}`);
    assert.equal(error.code, 'unauthorized');
    assert.equal(error.httpStatus, 401);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  };
}

/** The same key id with another secret and a valid checksum: well-formed, so it reaches the store, but wrong. */
function withWrongSecret(token: string): string {
  const parsed = parseApiKey(token);
  assert.ok(parsed);
  return withChecksum(`ghk_${parsed.id}_${generateApiKey().secret}`);
}

/** Appends the checksum the format defines (CRC32, IEEE, as 6 base62 digits), computed bit by bit as a reference. */
function withChecksum(body: string): string {
  let crc = 0xffffffff;
  for (let index = 0; index < body.length; index += 1) {
    crc ^= body.charCodeAt(index);
    for (let bit = 0; bit < 8; bit += 1) crc = crc & 1 ? 0xedb88320 ^ (crc >>> 1) : crc >>> 1;
  }
  let value = (crc ^ 0xffffffff) >>> 0;
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let checksum = '';
  for (let index = 0; index < 6; index += 1) {
    checksum = alphabet[value % 62]! + checksum;
    value = Math.floor(value / 62);
  }
  const token = `${body}${checksum}`;
  assert.ok(parseApiKey(token), 'the recomputed checksum is accepted');
  return token;
}

describe('the API key format', () => {
  test('a token is ghk_, a 10-character id, _, and 49 base62 characters (secret and checksum): 64 in all', () => {
    const key = generateApiKey();
    assert.match(key.token, /^ghk_[0-9A-Za-z]{10}_[0-9A-Za-z]{49}$/);
    assert.equal(key.token.length, API_KEY_LENGTH);
    assert.equal(API_KEY_LENGTH, 64);
    assert.match(key.id, /^[0-9A-Za-z]{10}$/);
    assert.match(key.secret, /^[0-9A-Za-z]{43}$/, '43 base62 characters carry 256 bits');
    assert.ok(key.token.startsWith(`ghk_${key.id}_${key.secret}`));
    assert.deepEqual(parseApiKey(key.token), { id: key.id, secret: key.secret });
  });

  test('every token is new, and the secret uses the whole alphabet', () => {
    const keys = Array.from({ length: 300 }, () => generateApiKey());
    assert.equal(new Set(keys.map((key) => key.token)).size, keys.length);
    assert.equal(new Set(keys.map((key) => key.id)).size, keys.length);
    const seen = new Set(keys.flatMap((key) => [...key.secret]));
    assert.equal(seen.size, 62, 'all 62 characters appear across 300 secrets');
  });

  test('isApiKeyToken tells a key from a JWT by its prefix alone', () => {
    assert.equal(isApiKeyToken(generateApiKey().token), true);
    assert.equal(isApiKeyToken('ghk_malformed'), true, 'a malformed key is still a key: it fails as one, not as a JWT');
    assert.equal(isApiKeyToken('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'), false);
    assert.equal(isApiKeyToken('ghp_0123456789'), false);
    assert.equal(isApiKeyToken(''), false);
  });

  test('parseApiKey is strict: exact length, prefix, alphabet and checksum, nothing trimmed', () => {
    const { token } = generateApiKey();
    const flip = (index: number): string => `${token.slice(0, index)}${token[index] === 'a' ? 'b' : 'a'}${token.slice(index + 1)}`;
    const rejected = [
      '',
      'ghk_',
      token.slice(0, -1),
      `${token}0`,
      ` ${token}`,
      `${token}\n`,
      token.toUpperCase(),
      `GHK_${token.slice(4)}`,
      token.replace('_', '-'),
      `${token.slice(0, 14)}-${token.slice(15)}`,
      `${token.slice(0, 20)}é${token.slice(21)}`,
      flip(8),
      flip(30),
      flip(63),
      'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
    ];
    for (const candidate of rejected) assert.equal(parseApiKey(candidate), undefined, JSON.stringify(candidate));
  });

  test('only the SHA-256 of the secret is kept, and it is compared in full', () => {
    const key = generateApiKey();
    const hash = hashSecret(key.secret);
    assert.equal(hash, createHash('sha256').update(key.secret).digest('hex'));
    assert.doesNotMatch(hash, new RegExp(key.secret));
    assert.equal(secretMatches(key.secret, hash), true);
    assert.equal(secretMatches(generateApiKey().secret, hash), false);
    assert.equal(secretMatches(key.secret, hash.slice(0, 32)), false, 'a truncated hash never matches');
  });

  test('durations are a whole number and one of s, m, h, d, w', () => {
    assert.equal(parseDuration('90d'), 90 * DAY);
    assert.equal(parseDuration('12h'), 12 * HOUR);
    assert.equal(parseDuration('30m'), 30 * MINUTE);
    assert.equal(parseDuration('45s'), 45_000);
    assert.equal(parseDuration('2w'), 14 * DAY);
    assert.equal(parseDuration('0s'), 0);
    for (const text of ['00d', '01h', '1.5h', '90', 'd', '-1d', '90 d', '1y', '90D', '', '2030-01-01']) assert.equal(parseDuration(text), undefined, text);
  });
});

describe('the registry\'s API keys', () => {
  test('a created key verifies to its identity: id as subject, name, roles, endpoints, expiry', async () => {
    const clock = manualClock();
    const registry = await openRegistry(new MemoryStore(), clock.now);
    const { token, record } = await registry.createApiKey({ name: 'ci-bot', roles: ['reader'], endpoints: ['github', 'triage'], expiresInMs: 90 * DAY, actor: 'alice' });

    assert.equal(parseApiKey(token)?.id, record.id);
    assert.deepEqual(record, {
      id: record.id,
      name: 'ci-bot',
      roles: ['reader'],
      endpoints: ['github', 'triage'],
      createdAt: clock.iso(),
      expiresAt: clock.iso(90 * DAY),
      revokedAt: null,
      rotatedFrom: null,
      lastUsedAt: null,
      createdBy: 'alice',
    });
    const identity = await registry.verifyApiKey(token);
    assert.deepEqual(identity, {
      kind: 'api-key',
      subject: record.id,
      name: 'ci-bot',
      roles: ['reader'],
      endpoints: ['github', 'triage'],
      scopes: [],
      groups: [],
      expiresAt: Date.parse(clock.iso(90 * DAY)),
    });
    assert.ok(Object.isFrozen(identity));
  });

  test('a key without endpoints reaches any, and one without expiry never expires', async () => {
    const clock = manualClock();
    const registry = await openRegistry(new MemoryStore(), clock.now);
    const { token, record } = await registry.createApiKey({ name: 'ops', roles: ['admin', 'admin', 'reader'], actor: 'alice' });
    assert.equal(record.endpoints, null);
    assert.equal(record.expiresAt, null);
    assert.deepEqual(record.roles, ['admin', 'reader'], 'duplicates dropped');
    clock.advance(10 * 365 * DAY);
    const identity = await registry.verifyApiKey(token);
    assert.equal(identity.endpoints, undefined);
    assert.equal(identity.expiresAt, undefined);
  });

  test('a wrong secret and an unknown id fail with the same 401 message; a malformed key says so', async () => {
    const registry = await openRegistry(new MemoryStore(), manualClock().now);
    const { token } = await registry.createApiKey({ name: 'ci-bot', roles: ['reader'], actor: 'alice' });

    const failures: string[] = [];
    for (const candidate of [withWrongSecret(token), generateApiKey().token]) {
      await assert.rejects(registry.verifyApiKey(candidate), (error: unknown) => {
        unauthorized('Authentication required: send a valid API key or access token as "Authorization: Bearer <token>". The API key is not valid.')(error);
        failures.push((error as GatehouseError).message);
        return true;
      });
    }
    assert.equal(failures[0], failures[1]);
    await assert.rejects(registry.verifyApiKey(`${token.slice(0, -1)}`), unauthorized(/malformed/));
    await assert.rejects(registry.verifyApiKey('ghk_short'), unauthorized(/malformed/));
  });

  test('a key stops working at its expiry, not a millisecond later', async () => {
    const clock = manualClock();
    const registry = await openRegistry(new MemoryStore(), clock.now);
    const { token, record } = await registry.createApiKey({ name: 'ci-bot', roles: ['reader'], expiresInMs: HOUR, actor: 'alice' });

    clock.advance(HOUR - 1);
    assert.equal((await registry.verifyApiKey(token)).subject, record.id);
    clock.advance(1);
    await assert.rejects(registry.verifyApiKey(token), unauthorized(new RegExp(`expired at ${record.expiresAt}`)));
  });

  test('an expiry may be a time, which must be in the future; bad inputs are invalid_body or server_not_found', async () => {
    const clock = manualClock();
    const registry = await openRegistry(new MemoryStore(), clock.now);
    const { record } = await registry.createApiKey({ name: 'ci-bot', roles: ['reader'], expiresAt: '2030-03-01T00:00:00Z', actor: 'alice' });
    assert.equal(record.expiresAt, '2030-03-01T00:00:00.000Z');

    const attempts: [Parameters<Registry['createApiKey']>[0], string][] = [
      [{ name: 'x', roles: ['r'], expiresAt: '2029-12-31T23:59:59Z', actor: 'a' }, 'invalid_body'],
      [{ name: 'x', roles: ['r'], expiresAt: 'next tuesday', actor: 'a' }, 'invalid_body'],
      [{ name: 'x', roles: ['r'], expiresInMs: 0, actor: 'a' }, 'invalid_body'],
      [{ name: 'x', roles: ['r'], expiresInMs: 1000, expiresAt: '2031-01-01T00:00:00Z', actor: 'a' }, 'invalid_body'],
      [{ name: 'x', roles: [], actor: 'a' }, 'invalid_body'],
      [{ name: 'has space', roles: ['r'], actor: 'a' }, 'invalid_body'],
      [{ name: 'x', roles: ['bad\nrole'], actor: 'a' }, 'invalid_body'],
      [{ name: 'x', roles: ['r'], endpoints: [], actor: 'a' }, 'invalid_body'],
      [{ name: 'x', roles: ['r'], endpoints: ['githb'], actor: 'a' }, 'server_not_found'],
    ];
    for (const [input, code] of attempts) await assert.rejects(registry.createApiKey(input), { code }, JSON.stringify(input));
    assert.equal((await registry.listApiKeys()).length, 1, 'nothing was stored by the refused requests');
  });

  test('a revoked key fails on its next request; revoking again changes nothing; an unknown id is key_not_found', async () => {
    const clock = manualClock();
    const registry = await openRegistry(new MemoryStore(), clock.now);
    const { token, record } = await registry.createApiKey({ name: 'ci-bot', roles: ['reader'], actor: 'alice' });
    await registry.verifyApiKey(token);

    const revoked = await registry.revokeApiKey(record.id, 'bob');
    assert.equal(revoked.revokedAt, clock.iso());
    await assert.rejects(registry.verifyApiKey(token), unauthorized(/revoked/));

    clock.advance(MINUTE);
    assert.equal((await registry.revokeApiKey(record.id, 'carol')).revokedAt, revoked.revokedAt);
    await assert.rejects(registry.revokeApiKey('NoSuchKey0', 'bob'), { code: 'key_not_found', httpStatus: 404 });
    const revocations = (await registry.store.listAdminEvents({ limit: 50 })).items.filter((event) => event.action === 'key.revoke');
    assert.deepEqual(revocations.map((event) => [event.actor, event.target]), [['bob', record.id]]);
  });

  test('rotation: both keys work during the overlap, then only the new one, which keeps name, roles, endpoints and lifetime', async () => {
    const clock = manualClock();
    const registry = await openRegistry(new MemoryStore(), clock.now);
    const old = await registry.createApiKey({ name: 'ci-bot', roles: ['reader', 'writer'], endpoints: ['docs'], expiresInMs: 90 * DAY, actor: 'alice' });
    clock.advance(10 * DAY);

    const rotated = await registry.rotateApiKey(old.record.id, { overlapMs: HOUR, actor: 'bob' });
    assert.notEqual(rotated.token, old.token);
    assert.deepEqual(rotated.record, {
      id: rotated.record.id,
      name: 'ci-bot',
      roles: ['reader', 'writer'],
      endpoints: ['docs'],
      createdAt: clock.iso(),
      expiresAt: clock.iso(90 * DAY),
      revokedAt: null,
      rotatedFrom: old.record.id,
      lastUsedAt: null,
      createdBy: 'bob',
    });
    assert.equal(rotated.previous.id, old.record.id);
    assert.equal(rotated.previous.expiresAt, clock.iso(HOUR));

    clock.advance(HOUR - 1);
    assert.equal((await registry.verifyApiKey(old.token)).subject, old.record.id, 'the old key works during the overlap');
    assert.equal((await registry.verifyApiKey(rotated.token)).subject, rotated.record.id, 'so does the new one');
    clock.advance(1);
    await assert.rejects(registry.verifyApiKey(old.token), unauthorized(/expired/));
    assert.equal((await registry.verifyApiKey(rotated.token)).subject, rotated.record.id);
  });

  test('rotation never extends the old key, defaults to a 24 h overlap, and 0 ends the old key now', async () => {
    const clock = manualClock();
    const registry = await openRegistry(new MemoryStore(), clock.now);
    const soon = await registry.createApiKey({ name: 'soon', roles: ['reader'], expiresInMs: 30 * MINUTE, actor: 'alice' });
    const open = await registry.createApiKey({ name: 'open', roles: ['reader'], actor: 'alice' });
    const now = await registry.createApiKey({ name: 'now', roles: ['reader'], actor: 'alice' });

    const fromSoon = await registry.rotateApiKey(soon.record.id, { actor: 'alice' });
    assert.equal(fromSoon.previous.expiresAt, clock.iso(30 * MINUTE), 'an expiry sooner than the overlap is kept');
    assert.equal(fromSoon.record.expiresAt, clock.iso(30 * MINUTE), 'the new key gets the old one\'s lifetime');

    const fromOpen = await registry.rotateApiKey(open.record.id, { actor: 'alice', expiresInMs: 7 * DAY });
    assert.equal(fromOpen.previous.expiresAt, clock.iso(DAY), 'the default overlap is 24 h');
    assert.equal(fromOpen.record.expiresAt, clock.iso(7 * DAY), 'an explicit expiry wins');

    await registry.rotateApiKey(now.record.id, { overlapMs: 0, actor: 'alice' });
    await assert.rejects(registry.verifyApiKey(now.token), unauthorized(/expired/));
  });

  test('a revoked, expired or already rotated key cannot be rotated (forbidden); an unknown one is key_not_found', async () => {
    const clock = manualClock();
    const registry = await openRegistry(new MemoryStore(), clock.now);
    const revoked = await registry.createApiKey({ name: 'a', roles: ['reader'], actor: 'alice' });
    await registry.revokeApiKey(revoked.record.id, 'alice');
    const expired = await registry.createApiKey({ name: 'b', roles: ['reader'], expiresInMs: MINUTE, actor: 'alice' });
    const rotatedOnce = await registry.createApiKey({ name: 'c', roles: ['reader'], actor: 'alice' });
    const successor = await registry.rotateApiKey(rotatedOnce.record.id, { actor: 'alice' });
    clock.advance(MINUTE);

    await assert.rejects(registry.rotateApiKey(revoked.record.id, { actor: 'alice' }), { code: 'forbidden', message: /revoked/ });
    await assert.rejects(registry.rotateApiKey(expired.record.id, { actor: 'alice' }), { code: 'forbidden', message: /expired/ });
    await assert.rejects(registry.rotateApiKey(rotatedOnce.record.id, { actor: 'alice' }), { code: 'forbidden', message: new RegExp(successor.record.id) });
    await assert.rejects(registry.rotateApiKey('NoSuchKey0', { actor: 'alice' }), { code: 'key_not_found' });
    await assert.rejects(registry.rotateApiKey(successor.record.id, { overlapMs: -1, actor: 'alice' }), { code: 'invalid_body' });
    assert.equal((await registry.listApiKeys()).length, 4, 'no key was made by the refused rotations');
  });

  test('create, rotate and revoke are in the event log with their actor, and no token, secret or hash is anywhere but the answer', async () => {
    const store = new MemoryStore();
    const registry = await openRegistry(store, manualClock().now);
    const created = await registry.createApiKey({ name: 'ci-bot', roles: ['reader'], expiresInMs: DAY, actor: 'alice' });
    const rotated = await registry.rotateApiKey(created.record.id, { actor: 'bob' });
    await registry.revokeApiKey(rotated.record.id, 'carol');

    const events = (await store.listAdminEvents({ limit: 50 })).items.filter((event) => event.action.startsWith('key.'));
    assert.deepEqual(
      events.map((event) => [event.actor, event.action, event.target]),
      [
        ['carol', 'key.revoke', rotated.record.id],
        ['bob', 'key.rotate', created.record.id],
        ['alice', 'key.create', created.record.id],
      ],
    );
    assert.equal(events[1]?.detail.newKey, rotated.record.id);
    const listed = await registry.listApiKeys();
    assert.ok(listed.every((key) => !('secretHash' in key)), 'the list carries no hash');
    const visible = JSON.stringify({ events, listed });
    for (const { token } of [created, rotated]) {
      const { secret } = parseApiKey(token) ?? assert.fail('token parses');
      assert.ok(!visible.includes(token) && !visible.includes(secret) && !visible.includes(hashSecret(secret)));
    }
  });

  test('lastUsedAt is written at most once a minute per key, without a write on every request', async () => {
    const touches: string[] = [];
    class CountingStore extends MemoryStore {
      override async touchApiKey(id: string, at: string): Promise<void> {
        touches.push(`${id}@${at}`);
        return super.touchApiKey(id, at);
      }
    }
    const clock = manualClock();
    const registry = await openRegistry(new CountingStore(), clock.now);
    const { token, record } = await registry.createApiKey({ name: 'ci-bot', roles: ['reader'], actor: 'alice' });
    const first = clock.iso();

    for (let index = 0; index < 5; index += 1) await registry.verifyApiKey(token);
    clock.advance(MINUTE - 1);
    await registry.verifyApiKey(token);
    assert.deepEqual(touches, [`${record.id}@${first}`]);
    assert.equal((await registry.listApiKeys())[0]?.lastUsedAt, first);

    clock.advance(1);
    await registry.verifyApiKey(token);
    assert.deepEqual(touches, [`${record.id}@${first}`, `${record.id}@${clock.iso()}`]);
    await assert.rejects(registry.verifyApiKey(withWrongSecret(token)));
    assert.equal(touches.length, 2, 'a failed verification writes nothing');
  });

  test('a revocation or rotation through one registry is seen by another on the same SQLite file on its next verify', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-keys-'));
    const file = join(dir, 'gatehouse.db');
    const clock = manualClock();
    const stores = [await openSqliteStore(file), await openSqliteStore(file)] as const;
    try {
      const replicaA = await openRegistry(stores[0], clock.now);
      const replicaB = await Registry.open({ store: stores[1], separator: '__', defaultStatus: 'approved', stdioRegistration: { enabled: false, allowedCommands: [] }, now: clock.now });

      const first = await replicaA.createApiKey({ name: 'ci-bot', roles: ['reader'], actor: 'alice' });
      const second = await replicaA.createApiKey({ name: 'deploy', roles: ['writer'], actor: 'alice' });
      assert.equal((await replicaB.verifyApiKey(first.token)).subject, first.record.id);
      assert.equal((await replicaB.verifyApiKey(second.token)).subject, second.record.id);

      await replicaA.revokeApiKey(first.record.id, 'alice');
      await assert.rejects(replicaB.verifyApiKey(first.token), unauthorized(/revoked/));

      const rotated = await replicaA.rotateApiKey(second.record.id, { overlapMs: 0, actor: 'alice' });
      await assert.rejects(replicaB.verifyApiKey(second.token), unauthorized(/expired/));
      assert.equal((await replicaB.verifyApiKey(rotated.token)).subject, rotated.record.id);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
