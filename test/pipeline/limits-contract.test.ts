// One contract for the limit counters (CounterStore), run against every implementation: memory, and
// Redis on a real redis-server (DESIGN: contract tests). Time is passed in, so every expectation is
// exact for both; the queue tests use the real clock only to wait for events, never to measure.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';
import { RedisCounterStore } from '../../src/cluster/index.js';
import { GatehouseError } from '../../src/core/index.js';
import { ConcurrencyGate, MemoryCounterStore, type CounterStore, type QuotaCheck, type RateCheck } from '../../src/pipeline/limits/index.js';
import { redisSkipReason, startRedis, type RedisServer } from '../helpers/redis.js';

interface Subject {
  /** A store; two opened with one `space` share their counters (two replicas), other spaces do not. */
  open(space: string): Promise<CounterStore>;
}

const T0 = Date.UTC(2031, 0, 1);
const rate = (key: string, capacity: number, requests: number, perMs: number): RateCheck => ({ kind: 'rate', key, capacity, requests, perMs });
const quota = (key: string, limit: number, windowEnd: number): QuotaCheck => ({ kind: 'quota', key, limit, windowEnd });

function contract(name: string, subject: () => Subject, skip?: string): void {
  describe(`CounterStore contract: ${name}`, { skip }, () => {
    const opened: CounterStore[] = [];
    let spaces = 0;
    /** A store in a space no other test uses. */
    const fresh = async (): Promise<CounterStore> => {
      const store = await subject().open(`t${++spaces}`);
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });

    test('a bucket allows its burst, then refuses with the time until the next token', async () => {
      const store = await fresh();
      const bucket = rate('b', 3, 3, 1000);
      for (let call = 0; call < 3; call++) assert.deepEqual(await store.take([bucket], T0), { allowed: true });
      assert.deepEqual(await store.take([bucket], T0), { allowed: false, index: 0, retryAfterMs: 334 });
    });

    test('a bucket refills at its rate and never beyond its capacity', async () => {
      const store = await fresh();
      const bucket = rate('b', 2, 10, 1000); // one token per 100 ms
      assert.equal((await store.take([bucket], T0)).allowed, true);
      assert.equal((await store.take([bucket], T0)).allowed, true);
      assert.deepEqual(await store.take([bucket], T0 + 40), { allowed: false, index: 0, retryAfterMs: 60 });
      assert.equal((await store.take([bucket], T0 + 100)).allowed, true);
      assert.deepEqual(await store.take([bucket], T0 + 100), { allowed: false, index: 0, retryAfterMs: 100 });
      // A long quiet spell fills the bucket to its capacity, not to the time's worth of tokens.
      assert.equal((await store.take([bucket], T0 + 60_000)).allowed, true);
      assert.equal((await store.take([bucket], T0 + 60_000)).allowed, true);
      assert.equal((await store.take([bucket], T0 + 60_000)).allowed, false);
    });

    test('a clock behind the last take refills nothing', async () => {
      const store = await fresh();
      const bucket = rate('b', 1, 1, 1000);
      assert.equal((await store.take([bucket], T0 + 5000)).allowed, true);
      assert.deepEqual(await store.take([bucket], T0 + 4000), { allowed: false, index: 0, retryAfterMs: 1000 });
      assert.equal((await store.take([bucket], T0 + 6000)).allowed, true);
    });

    test('a quota counts up to its limit in a window, then refuses until the window ends', async () => {
      const store = await fresh();
      const windowEnd = T0 + 86_400_000;
      assert.equal((await store.take([quota('q|day1', 2, windowEnd)], T0)).allowed, true);
      assert.equal((await store.take([quota('q|day1', 2, windowEnd)], T0 + 10)).allowed, true);
      assert.deepEqual(await store.take([quota('q|day1', 2, windowEnd)], T0 + 1000), { allowed: false, index: 0, retryAfterMs: 86_399_000 });
      // The next window is another key: it starts from zero.
      assert.equal((await store.take([quota('q|day2', 2, windowEnd + 86_400_000)], windowEnd)).allowed, true);
    });

    test('a refused take uses up nothing in the other counters', async () => {
      const store = await fresh();
      const bucket = rate('b', 5, 5, 60_000);
      const daily = quota('q', 1, T0 + 86_400_000);
      assert.deepEqual(await store.take([bucket, daily], T0), { allowed: true });
      assert.deepEqual(await store.take([bucket, daily], T0), { allowed: false, index: 1, retryAfterMs: 86_400_000 });
      // The bucket gave one token to the allowed take only: four are left.
      for (let call = 0; call < 4; call++) assert.equal((await store.take([bucket], T0)).allowed, true, `call ${call}`);
      assert.equal((await store.take([bucket], T0)).allowed, false);
      // And a refusing bucket leaves the quota alone.
      const other = quota('q2', 1, T0 + 86_400_000);
      assert.deepEqual(await store.take([other, bucket], T0), { allowed: false, index: 1, retryAfterMs: 12_000 });
      assert.deepEqual(await store.take([other], T0), { allowed: true });
    });

    test('keys are counted apart', async () => {
      const store = await fresh();
      assert.equal((await store.take([rate('alice|echo', 1, 1, 60_000)], T0)).allowed, true);
      assert.equal((await store.take([rate('alice|echo', 1, 1, 60_000)], T0)).allowed, false);
      assert.equal((await store.take([rate('bob|echo', 1, 1, 60_000)], T0)).allowed, true);
      assert.equal((await store.take([rate('alice|add', 1, 1, 60_000)], T0)).allowed, true);
      assert.equal(await store.acquireSlot('c|alice', 1, 'lease-1', T0 + 1000, T0), true);
      assert.equal(await store.acquireSlot('c|bob', 1, 'lease-2', T0 + 1000, T0), true);
      assert.equal(await store.acquireSlot('c|alice', 1, 'lease-3', T0 + 1000, T0), false);
    });

    test('two stores on one space share their counters (replicas); another space does not', async () => {
      const space = `shared${++spaces}`;
      const [one, two, elsewhere] = [await subject().open(space), await subject().open(space), await fresh()];
      opened.push(one, two);
      const bucket = rate('b', 2, 2, 60_000);
      assert.equal((await one.take([bucket], T0)).allowed, true);
      assert.equal((await two.take([bucket], T0)).allowed, true);
      assert.equal((await one.take([bucket], T0)).allowed, false);
      assert.equal((await two.take([bucket], T0)).allowed, false);
      assert.equal((await elsewhere.take([bucket], T0)).allowed, true);
    });

    test('slots: at most max held, a release frees one, and taking a held lease again renews it', async () => {
      const store = await fresh();
      assert.equal(await store.acquireSlot('k', 2, 'a', T0 + 30_000, T0), true);
      assert.equal(await store.acquireSlot('k', 2, 'b', T0 + 30_000, T0), true);
      assert.equal(await store.acquireSlot('k', 2, 'c', T0 + 30_000, T0), false);
      assert.equal(await store.acquireSlot('k', 2, 'a', T0 + 60_000, T0), true);
      assert.equal(await store.slotsInUse('k', T0), 2);
      await store.releaseSlot('k', 'a');
      await store.releaseSlot('k', 'a'); // twice is harmless
      assert.equal(await store.slotsInUse('k', T0), 1);
      assert.equal(await store.acquireSlot('k', 2, 'c', T0 + 30_000, T0), true);
    });

    test('a lease that runs out frees its slot (a crashed replica leaks nothing)', async () => {
      const store = await fresh();
      assert.equal(await store.acquireSlot('k', 1, 'crashed', T0 + 1000, T0), true);
      assert.equal(await store.acquireSlot('k', 1, 'b', T0 + 31_000, T0 + 999), false);
      assert.equal(await store.slotsInUse('k', T0 + 999), 1);
      assert.equal(await store.slotsInUse('k', T0 + 1000), 0);
      assert.equal(await store.acquireSlot('k', 1, 'b', T0 + 31_000, T0 + 1000), true);
    });

    test('renewing a lease keeps its slot; a lease already dropped stays gone', async () => {
      const store = await fresh();
      assert.equal(await store.acquireSlot('k', 1, 'long', T0 + 1000, T0), true);
      await store.renewSlots([{ key: 'k', leaseId: 'long' }], T0 + 5000);
      assert.equal(await store.acquireSlot('k', 1, 'other', T0 + 9000, T0 + 2000), false);
      // It expires at T0 + 5000; "other" takes the slot (dropping it); a late renewal changes nothing.
      assert.equal(await store.acquireSlot('k', 1, 'other', T0 + 9000, T0 + 5000), true);
      await store.renewSlots([{ key: 'k', leaseId: 'long' }], T0 + 20_000);
      assert.equal(await store.slotsInUse('k', T0 + 6000), 1);
      assert.equal(await store.acquireSlot('k', 1, 'third', T0 + 20_000, T0 + 10_000), true);
    });

    test('a release is announced to every store sharing the space', async () => {
      const space = `shared${++spaces}`;
      const [one, two] = [await subject().open(space), await subject().open(space)];
      opened.push(one, two);
      let hear: (key: string) => void = () => undefined;
      const heard = new Promise<string>((resolve) => (hear = resolve));
      await two.onSlotReleased((key) => hear(key));
      assert.equal(await one.acquireSlot('c|k', 1, 'a', Date.now() + 30_000, Date.now()), true);
      await one.releaseSlot('c|k', 'a');
      assert.equal(await heard, 'c|k');
    });

    describe('queues in front of the slots (ConcurrencyGate)', () => {
      const gates: ConcurrencyGate[] = [];
      afterEach(() => {
        for (const gate of gates.splice(0)) gate.close();
      });
      const gateOn = (store: CounterStore): ConcurrencyGate => {
        const gate = new ConcurrencyGate(store, { now: Date.now, leaseMs: 30_000, pollMs: 200 });
        gates.push(gate);
        return gate;
      };
      const refuse = (why: 'full' | 'timeout'): Error => new GatehouseError('concurrency_limited', why, { why });
      const whyRefused = async (promise: Promise<unknown>): Promise<unknown> => {
        try {
          await promise;
          return 'acquired';
        } catch (error) {
          return (error as GatehouseError).data?.why;
        }
      };

      test('waiters get freed slots first in, first out; past the queue\'s size calls are refused at once', async () => {
        const gate = gateOn(await fresh());
        const limit = { max: 1, queue: 2, queueTimeoutMs: 120_000 };
        const first = await gate.acquire('k', limit, refuse);
        const order: string[] = [];
        const second = gate.acquire('k', limit, refuse).then((lease) => (order.push('second'), lease));
        const third = gate.acquire('k', limit, refuse).then((lease) => (order.push('third'), lease));
        assert.equal(await whyRefused(gate.acquire('k', limit, refuse)), 'full');
        await gate.release('k', first);
        const secondLease = await second;
        assert.deepEqual(order, ['second']);
        await gate.release('k', secondLease);
        await gate.release('k', await third);
        assert.deepEqual(order, ['second', 'third']);
      });

      test('a waiter is refused when its queue timeout passes, and leaves its place', async () => {
        const store = await fresh();
        const gate = gateOn(store);
        const limit = { max: 1, queue: 1, queueTimeoutMs: 50 };
        const held = await gate.acquire('k', limit, refuse);
        assert.equal(await whyRefused(gate.acquire('k', limit, refuse)), 'timeout');
        // Its place is free again: the next call may wait.
        const next = gate.acquire('k', { ...limit, queueTimeoutMs: 120_000 }, refuse);
        await gate.release('k', held);
        await gate.release('k', await next);
        assert.equal(await store.slotsInUse('k', Date.now()), 0);
      });

      test('a slot freed by another replica wakes a waiter here', async () => {
        const space = `shared${++spaces}`;
        const [one, two] = [await subject().open(space), await subject().open(space)];
        opened.push(one, two);
        const [here, there] = [gateOn(one), gateOn(two)];
        const limit = { max: 1, queue: 4, queueTimeoutMs: 120_000 };
        const held = await there.acquire('k', limit, refuse);
        const waiting = here.acquire('k', limit, refuse);
        await there.release('k', held);
        await here.release('k', await waiting);
      });

      test('a held slot is renewed while its call runs, and free once released', async () => {
        const store = await fresh();
        let now = T0;
        let renewed: () => void = () => undefined;
        // The real store, told when the gate renews (the renewal runs on a timer of its own).
        const watched: CounterStore = Object.create(store, {
          renewSlots: {
            value: async (...args: Parameters<CounterStore['renewSlots']>) => {
              await store.renewSlots(...args);
              renewed();
            },
          },
        }) as CounterStore;
        const gate = new ConcurrencyGate(watched, { now: () => now, leaseMs: 300, pollMs: 200 });
        gates.push(gate);
        const lease = await gate.acquire('k', { max: 1, queue: 0, queueTimeoutMs: 1000 }, refuse);
        now = T0 + 250;
        await new Promise<void>((resolve) => (renewed = resolve));
        // Renewed at T0 + 250 for 300 ms: held past its first expiry (T0 + 300).
        assert.equal(await store.slotsInUse('k', T0 + 500), 1);
        await gate.release('k', lease);
        assert.equal(await store.slotsInUse('k', T0 + 500), 0);
      });

      test('a queue with size 0 refuses at once when every slot is held', async () => {
        const gate = gateOn(await fresh());
        const limit = { max: 2, queue: 0, queueTimeoutMs: 120_000 };
        const leases = [await gate.acquire('k', limit, refuse), await gate.acquire('k', limit, refuse)];
        assert.equal(await whyRefused(gate.acquire('k', limit, refuse)), 'full');
        for (const lease of leases) await gate.release('k', lease);
        await gate.release('k', await gate.acquire('k', limit, refuse));
      });
    });
  });
}

const memorySpaces = new Map<string, MemoryCounterStore>();
contract('memory', () => ({
  open(space) {
    // Replicas of the memory store can only be one process's one store (closing it twice is harmless).
    let store = memorySpaces.get(space);
    if (store === undefined) {
      store = new MemoryCounterStore();
      memorySpaces.set(space, store);
    }
    return Promise.resolve(store);
  },
}));

let redis: RedisServer | undefined;
const redisSkip = redisSkipReason();
before(async () => {
  if (redisSkip === undefined) redis = await startRedis();
});
after(async () => {
  await redis?.stop();
});
contract(
  'redis',
  () => ({
    async open(space) {
      const store = new RedisCounterStore(redis!.url, { prefix: `gatehouse-test:${space}:` });
      await store.ready();
      return store;
    },
  }),
  redisSkip,
);
