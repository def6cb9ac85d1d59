// The response cache as a filter, with real ClientSessions and a terminal handler that counts how
// often it ran; and its two stores under one contract, memory and a real redis-server.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Identity } from '../../src/core/index.js';
import { CacheFilter, CacheRules, CallContext, MemoryCacheStore, type CacheStore, type CallTarget } from '../../src/pipeline/index.js';
import { RedisCacheStore } from '../../src/cluster/index.js';
import type { JsonRpcRequest, JsonRpcResponse, Params, RequestOutcome } from '../../src/protocol/index.js';
import { ClientSession } from '../../src/session/index.js';
import { redisSkipReason, startRedis, type RedisServer } from '../helpers/redis.js';

function sessionOf(subject: string, protocolVersion = '2025-06-18'): ClientSession {
  const session = new ClientSession(`s-${subject}`, { name: '*', kind: 'aggregate', servers: [], prefixed: true }, protocolVersion, {
    send: () => undefined,
    close: () => undefined,
  });
  const identity: Identity = { kind: 'api-key', subject, groups: [], roles: [], scopes: [] };
  session.identity = identity;
  return session;
}

const TICK: CallTarget = { server: 'weather', kind: 'tools', name: 'forecast', authorized: true };

/** A terminal handler answering with a number that grows on every run, like a live tool. */
function upstream(result: (run: number) => Params = (run) => ({ content: [{ type: 'text', text: `run ${run}` }] })) {
  let runs = 0;
  return {
    get runs() {
      return runs;
    },
    next: (id: number) => async (): Promise<RequestOutcome> => ({ jsonrpc: '2.0', id, result: result(++runs) }),
  };
}

let ids = 0;
async function call(
  filter: CacheFilter,
  session: ClientSession,
  fake: ReturnType<typeof upstream>,
  options: { target?: CallTarget | undefined; args?: Params; method?: string } = {},
): Promise<JsonRpcResponse & { result: Params }> {
  const id = ++ids;
  const request: JsonRpcRequest = { jsonrpc: '2.0', id, method: options.method ?? 'tools/call', params: { name: 'weather__forecast', arguments: options.args ?? { city: 'Oslo' } } };
  const target = 'target' in options ? options.target : TICK;
  const outcome = await filter.handle(new CallContext(session, request, () => Promise.resolve(target)), fake.next(id));
  assert.ok(outcome !== undefined && 'result' in outcome, JSON.stringify(outcome));
  assert.equal(outcome.id, id, 'answered under the caller\'s own id');
  return outcome as JsonRpcResponse & { result: Params };
}

function textOf(response: { result: Params }): string {
  return (response.result.content as { text: string }[])[0]!.text;
}

function filterOf(rules: ConstructorParameters<typeof CacheRules>[0]['rules'], annotatedTtlMs?: number, now: () => number = Date.now): CacheFilter {
  return new CacheFilter(new CacheRules({ rules, annotatedTtlMs }), new MemoryCacheStore({ maxEntries: 100, maxBytes: 1 << 20, now }), now);
}

const FORECAST_RULE = { servers: ['weather'], tools: ['fore*'], resources: [], ttlMs: 60_000, shared: false };

describe('cache filter', () => {
  test('a repeated call is answered from the cache, marked in _meta, until the entry expires', async () => {
    let now = 1_000;
    const filter = filterOf([FORECAST_RULE], undefined, () => now);
    const fake = upstream();
    const alice = sessionOf('alice');
    const first = await call(filter, alice, fake);
    assert.equal(first.result._meta, undefined);
    now += 5_000;
    const second = await call(filter, alice, fake);
    assert.equal(textOf(second), 'run 1');
    assert.deepEqual((second.result._meta as Params)['io.gatehouse/cache'], { hit: true, ageMs: 5_000 });
    assert.equal(fake.runs, 1);
    now += 55_000;
    assert.equal(textOf(await call(filter, alice, fake)), 'run 2', 'expired after its ttl');
    assert.deepEqual(filter.counters, { hits: 1, misses: 2, stores: 2 });
  });

  test('each caller has their own entries unless the rule shares them', async () => {
    const fake = upstream();
    const own = filterOf([FORECAST_RULE]);
    await call(own, sessionOf('alice'), fake);
    assert.equal(textOf(await call(own, sessionOf('bob'), fake)), 'run 2');
    const shared = filterOf([{ ...FORECAST_RULE, shared: true }]);
    await call(shared, sessionOf('alice'), fake);
    assert.equal(textOf(await call(shared, sessionOf('bob'), fake)), 'run 3');
  });

  test('different arguments, key order aside, are different entries', async () => {
    const filter = filterOf([FORECAST_RULE]);
    const fake = upstream();
    const alice = sessionOf('alice');
    await call(filter, alice, fake, { args: { city: 'Oslo', days: 3 } });
    assert.equal(textOf(await call(filter, alice, fake, { args: { days: 3, city: 'Oslo' } })), 'run 1');
    assert.equal(textOf(await call(filter, alice, fake, { args: { city: 'Bergen', days: 3 } })), 'run 2');
  });

  test('isError results and JSON-RPC errors are never cached', async () => {
    const filter = filterOf([FORECAST_RULE]);
    const failing = upstream((run) => ({ content: [{ type: 'text', text: `failed ${run}` }], isError: true }));
    const alice = sessionOf('alice');
    await call(filter, alice, failing);
    assert.equal(textOf(await call(filter, alice, failing)), 'failed 2');
    let runs = 0;
    const request: JsonRpcRequest = { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', arguments: {} } };
    const erring = async (): Promise<RequestOutcome> => ({ jsonrpc: '2.0', id: 1, error: { code: -32000, message: `boom ${++runs}` } });
    await filter.handle(new CallContext(alice, request, () => Promise.resolve(TICK)), erring);
    await filter.handle(new CallContext(alice, request, () => Promise.resolve(TICK)), erring);
    assert.equal(runs, 2);
  });

  test('calls no rule names, list calls, and calls the caller\'s conditions refuse are not served from the cache', async () => {
    const filter = filterOf([FORECAST_RULE]);
    const fake = upstream();
    const alice = sessionOf('alice');
    const other: CallTarget = { server: 'weather', kind: 'tools', name: 'alerts', authorized: true };
    await call(filter, alice, fake, { target: other });
    await call(filter, alice, fake, { target: other });
    assert.equal(fake.runs, 2);
    await call(filter, alice, fake);
    // The same call, now refused by a policy condition: the router must see it, not the cache.
    assert.equal(textOf(await call(filter, alice, fake, { target: { ...TICK, authorized: false } })), 'run 4');
    await call(filter, alice, fake, { method: 'tools/list' });
    await call(filter, alice, fake, { method: 'tools/list' });
    assert.equal(fake.runs, 6);
  });

  test('tools annotated read-only and idempotent are cached when annotatedTools is on', async () => {
    const readOnly: CallTarget = { ...TICK, name: 'lookup', item: { annotations: { readOnlyHint: true, idempotentHint: true } } };
    const writes: CallTarget = { ...TICK, name: 'lookup', item: { annotations: { readOnlyHint: true } } };
    const fake = upstream();
    const alice = sessionOf('alice');
    const off = filterOf([]);
    await call(off, alice, fake, { target: readOnly });
    await call(off, alice, fake, { target: readOnly });
    const on = filterOf([], 60_000);
    await call(on, alice, fake, { target: readOnly });
    await call(on, alice, fake, { target: readOnly });
    await call(on, alice, fake, { target: writes });
    await call(on, alice, fake, { target: writes });
    assert.equal(fake.runs, 5);
  });

  test('clients of different protocol revisions do not share entries (results are shaped per revision)', async () => {
    const filter = filterOf([{ ...FORECAST_RULE, shared: true }]);
    const fake = upstream();
    await call(filter, sessionOf('alice', '2025-06-18'), fake);
    assert.equal(textOf(await call(filter, sessionOf('alice', '2024-11-05'), fake)), 'run 2');
  });

  test('identical calls that miss together go upstream once', async () => {
    const filter = filterOf([FORECAST_RULE]);
    const alice = sessionOf('alice');
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = (id: number) => async (): Promise<RequestOutcome> => {
      runs++;
      await gate;
      return { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'slow' }] } };
    };
    const request = (id: number): JsonRpcRequest => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'f', arguments: { city: 'Oslo' } } });
    const first = filter.handle(new CallContext(alice, request(101), () => Promise.resolve(TICK)), slow(101));
    const second = filter.handle(new CallContext(alice, request(102), () => Promise.resolve(TICK)), slow(102));
    release();
    const [a, b] = await Promise.all([first, second]);
    assert.equal(runs, 1);
    assert.equal(a && 'id' in a ? a.id : undefined, 101);
    assert.equal(b && 'id' in b ? b.id : undefined, 102);
  });
});

describe('memory cache store bounds', () => {
  test('drops the least recently used entry past maxEntries', async () => {
    const store = new MemoryCacheStore({ maxEntries: 2, maxBytes: 1 << 20 });
    await store.set('a', { result: '1', storedAt: 0 }, 60_000);
    await store.set('b', { result: '2', storedAt: 0 }, 60_000);
    await store.get('a');
    await store.set('c', { result: '3', storedAt: 0 }, 60_000);
    assert.equal(await store.get('b'), undefined);
    assert.equal((await store.get('a'))?.result, '1');
    assert.equal((await store.get('c'))?.result, '3');
  });

  test('keeps within maxBytes, and never keeps an entry larger than the bound', async () => {
    const store = new MemoryCacheStore({ maxEntries: 100, maxBytes: 100 });
    await store.set('big', { result: 'x'.repeat(200), storedAt: 0 }, 60_000);
    assert.equal(await store.get('big'), undefined);
    await store.set('a', { result: 'x'.repeat(20), storedAt: 0 }, 60_000);
    await store.set('b', { result: 'y'.repeat(20), storedAt: 0 }, 60_000);
    await store.set('c', { result: 'z'.repeat(20), storedAt: 0 }, 60_000);
    assert.equal(await store.get('a'), undefined, 'the oldest went to make room');
    assert.equal(store.size, 2);
  });
});

function storeContract(name: string, open: () => CacheStore, skip?: string): void {
  describe(`cache store contract: ${name}`, { skip }, () => {
    test('an entry reads back with its time, and a missing key is a miss', async () => {
      const store = open();
      try {
        await store.set('k1', { result: '{"content":[]}', storedAt: 1234 }, 60_000);
        assert.deepEqual(await store.get('k1'), { result: '{"content":[]}', storedAt: 1234 });
        assert.equal(await store.get('nothing-here'), undefined);
      } finally {
        await store.close();
      }
    });

    test('an entry is gone after its ttl', async () => {
      const store = open();
      try {
        await store.set('short', { result: '1', storedAt: 1 }, 150);
        assert.ok(await store.get('short'));
        // Expiry is the store's own clock (Redis expires keys itself): poll until it happened.
        const deadline = Date.now() + 20_000;
        while ((await store.get('short')) !== undefined) {
          assert.ok(Date.now() < deadline, 'the entry did not expire');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      } finally {
        await store.close();
      }
    });
  });
}

let redis: RedisServer | undefined;
const redisSkip = redisSkipReason();
before(async () => {
  if (redisSkip === undefined) redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});
storeContract('memory', () => new MemoryCacheStore({ maxEntries: 10, maxBytes: 1 << 20 }));
let space = 0;
storeContract('redis', () => new RedisCacheStore(redis!.url, `gatehouse-test:${++space}:`), redisSkip);
