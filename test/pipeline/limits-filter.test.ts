// The limits filter over real counter stores, with the clock injected: which calls it counts, what a
// refused caller gets, that a refusal by one rule uses up nothing of another's, that slots come back
// whatever the call's end, and what happens when the store cannot be reached.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, test } from 'node:test';
import { RedisCounterStore } from '../../src/cluster/index.js';
import { GatehouseError, type Identity } from '../../src/core/index.js';
import { CallContext, LimitFilter, MemoryCounterStore, type CallTarget, type CounterStore, type LimitRule } from '../../src/pipeline/index.js';
import type { JsonRpcRequest } from '../../src/protocol/index.js';
import { ClientSession } from '../../src/session/index.js';
import { redisSkipReason, startRedis } from '../helpers/redis.js';

const T0 = Date.UTC(2031, 0, 1, 12);

function rule(name: string, limits: Partial<LimitRule>): LimitRule {
  return { name, match: { servers: ['*'] }, key: ['user'], ...limits };
}

function sessionOf(subject: string): ClientSession {
  const session = new ClientSession(`s-${subject}`, { name: 'aggregate', kind: 'aggregate', servers: [], prefixed: true }, '2025-06-18', {
    send: () => undefined,
    close: () => undefined,
  });
  const identity: Identity = { kind: 'api-key', subject, groups: [], roles: [], scopes: [] };
  session.identity = identity;
  return session;
}

let ids = 0;
/** One call through the filter; the terminal handler answers "ran" (or whatever `run` does). */
function call(
  filter: LimitFilter<string>,
  session: ClientSession,
  method = 'tools/call',
  /** null: a name the router does not know (no target). */
  target: CallTarget | null = { server: 'everything', kind: 'tools', name: 'echo' },
  run: () => Promise<string> = () => Promise.resolve('ran'),
): Promise<string> {
  const request: JsonRpcRequest = { jsonrpc: '2.0', id: ++ids, method, params: { name: 'everything__echo' } };
  return filter.handle(new CallContext(session, request, () => Promise.resolve(target ?? undefined)), run);
}

async function refusedWith(promise: Promise<unknown>): Promise<GatehouseError> {
  const error = await promise.then(
    () => assert.fail('the call was not refused'),
    (failure: unknown) => failure,
  );
  assert.ok(error instanceof GatehouseError, String(error));
  return error;
}

function filterOf(rules: LimitRule[], options: { store?: CounterStore; now?: () => number; onStoreError?: 'allow' | 'refuse'; warnings?: string[] } = {}): LimitFilter<string> {
  return new LimitFilter<string>({
    rules,
    store: options.store ?? new MemoryCounterStore(),
    onStoreError: options.onStoreError ?? 'allow',
    warn: (message) => options.warnings?.push(message),
    now: options.now ?? (() => T0),
  });
}

describe('the limits filter', () => {
  test('refuses the call past the rate with the rule, the limit and when to retry, and lets it through once the bucket refills', async () => {
    let now = T0;
    const filter = filterOf([rule('two-a-minute', { rate: { requests: 2, per: 60_000 } })], { now: () => now });
    const alice = sessionOf('alice');
    assert.equal(await call(filter, alice), 'ran');
    assert.equal(await call(filter, alice), 'ran');
    const refused = await refusedWith(call(filter, alice));
    assert.equal(refused.code, 'rate_limited');
    assert.equal(refused.httpStatus, 429);
    assert.deepEqual(refused.toRpcError().data, {
      reason: 'rate_limited',
      rule: 'two-a-minute',
      limit: 'rate',
      retryAfterMs: 30_000,
      requests: 2,
      perMs: 60_000,
      burst: 2,
    });
    assert.match(refused.message, /Rule "two-a-minute" allows 2 calls per 1m/);
    now += 30_000;
    assert.equal(await call(filter, alice), 'ran');
    // Another caller has a bucket of their own.
    assert.equal(await call(filter, sessionOf('bob')), 'ran');
    await filter.close();
  });

  test('counts only calls that name a target: lists, pings and unknown names pass uncounted', async () => {
    const filter = filterOf([rule('one', { rate: { requests: 1, per: 60_000 } })]);
    const alice = sessionOf('alice');
    for (let round = 0; round < 3; round++) {
      assert.equal(await call(filter, alice, 'tools/list'), 'ran');
      assert.equal(await call(filter, alice, 'ping'), 'ran');
      assert.equal(await call(filter, alice, 'tools/call', null), 'ran');
    }
    assert.equal(await call(filter, alice), 'ran');
    assert.equal((await refusedWith(call(filter, alice))).code, 'rate_limited');
    // prompts/get and resources/read are calls too.
    const prompt: CallTarget = { server: 'everything', kind: 'prompts', name: 'simple-prompt' };
    assert.equal((await refusedWith(call(filter, alice, 'prompts/get', prompt))).code, 'rate_limited');
    await filter.close();
  });

  test('a call refused by a quota takes no token from another rule\'s bucket', async () => {
    const store = new MemoryCounterStore();
    const burst = rule('burst', { rate: { requests: 3, per: 3_600_000 } });
    const filter = filterOf([burst, rule('daily', { quota: { requests: 1, per: 'day' } })], { store });
    const alice = sessionOf('alice');
    assert.equal(await call(filter, alice), 'ran');
    for (let refusal = 0; refusal < 5; refusal++) {
      const refused = await refusedWith(call(filter, alice));
      assert.equal(refused.code, 'quota_exceeded');
      assert.deepEqual(refused.data, { rule: 'daily', limit: 'quota', retryAfterMs: 12 * 3_600_000, requests: 1, per: 'day', resetsAt: '2031-01-02T00:00:00.000Z' });
    }
    // The five refusals took nothing from "burst": through a filter with only that rule, on the same
    // counters, alice still has the two tokens the one allowed call left.
    const burstOnly = filterOf([burst], { store });
    assert.equal(await call(burstOnly, alice), 'ran');
    assert.equal(await call(burstOnly, alice), 'ran');
    assert.equal((await refusedWith(call(burstOnly, alice))).code, 'rate_limited');
    await filter.close();
  });

  test('a concurrency slot is given back when the call fails, and when it succeeds', async () => {
    const store = new MemoryCounterStore();
    const filter = filterOf([rule('single', { key: [], concurrency: { max: 1, queue: 0, queueTimeout: 60_000 } })], { store });
    const alice = sessionOf('alice');
    await assert.rejects(call(filter, alice, undefined, undefined, () => Promise.reject(new GatehouseError('upstream_unavailable'))), /unavailable/);
    let release: () => void = () => undefined;
    const running = call(filter, alice, undefined, undefined, () => new Promise<string>((resolve) => (release = () => resolve('slow'))));
    await new Promise<void>((resolve) => setImmediate(resolve));
    const refused = await refusedWith(call(filter, sessionOf('bob')));
    assert.equal(refused.code, 'concurrency_limited');
    assert.deepEqual(refused.data, { rule: 'single', limit: 'concurrency', retryAfterMs: 1000, max: 1, queue: 0 });
    release();
    assert.equal(await running, 'slow');
    assert.equal(await call(filter, sessionOf('bob')), 'ran');
    await filter.close();
  });

  test('a queued call whose client went away is not run', async () => {
    const filter = filterOf([rule('single', { key: [], concurrency: { max: 1, queue: 1, queueTimeout: 120_000 } })], { now: Date.now });
    let release: () => void = () => undefined;
    const running = call(filter, sessionOf('alice'), undefined, undefined, () => new Promise<string>((resolve) => (release = () => resolve('done'))));
    await new Promise<void>((resolve) => setImmediate(resolve));
    const bob = sessionOf('bob');
    let ran = false;
    const queued = call(filter, bob, undefined, undefined, () => ((ran = true), Promise.resolve('ran')));
    bob.closed = true;
    release();
    assert.equal(await running, 'done');
    assert.equal((await refusedWith(queued)).code, 'request_cancelled');
    assert.equal(ran, false);
    await filter.close();
  });

  describe('when the counter store cannot be reached', () => {
    /** A Redis URL on a loopback port where nothing listens. */
    async function deadRedisUrl(): Promise<string> {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return `redis://127.0.0.1:${port}`;
    }

    test('lets calls through and warns, by default', async () => {
      const warnings: string[] = [];
      const store = new RedisCounterStore(await deadRedisUrl(), { commandTimeoutMs: 200 });
      const filter = filterOf([rule('one', { rate: { requests: 1, per: 60_000 } })], { store, warnings });
      const alice = sessionOf('alice');
      assert.equal(await call(filter, alice), 'ran');
      assert.equal(await call(filter, alice), 'ran');
      assert.deepEqual(warnings, ['limit counters unavailable: calls pass unlimited']);
      await filter.close();
    });

    test('counts again once Redis is back', { skip: redisSkipReason() }, async () => {
      let redis = await startRedis();
      const warnings: string[] = [];
      const store = new RedisCounterStore(redis.url);
      const filter = filterOf([rule('two', { rate: { requests: 2, per: 3_600_000 } })], { store, warnings });
      const alice = sessionOf('alice');
      try {
        await store.ready();
        assert.equal(await call(filter, alice), 'ran');
        await redis.stop();
        assert.equal(await call(filter, alice), 'ran');
        assert.equal(await call(filter, alice), 'ran');
        assert.deepEqual(warnings, ['limit counters unavailable: calls pass unlimited']);
        // A new, empty Redis where the old one was: the store reconnects and counts from zero.
        redis = await startRedis({ port: redis.port });
        await store.ready();
        assert.equal(await call(filter, alice), 'ran');
        assert.equal(await call(filter, alice), 'ran');
        assert.equal((await refusedWith(call(filter, alice))).code, 'rate_limited');
      } finally {
        await filter.close();
        await redis.stop();
      }
    });

    test('refuses calls with limits_unavailable when told to', async () => {
      const store = new RedisCounterStore(await deadRedisUrl(), { commandTimeoutMs: 200 });
      const filter = filterOf([rule('one', { rate: { requests: 1, per: 60_000 } })], { store, onStoreError: 'refuse' });
      const refused = await refusedWith(call(filter, sessionOf('alice')));
      assert.equal(refused.code, 'limits_unavailable');
      assert.equal(refused.httpStatus, 503);
      await filter.close();
    });
  });
});
