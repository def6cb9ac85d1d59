// Policies in the registry: the config file seeds them read-only under stable ids, the admin API
// adds, replaces and removes its own with an actor and an event each, bodies are validated as the
// config file is (CEL included), listeners hear of every change, and a second replica on the same
// database sees a new policy through the revision.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { GatehouseError } from '../../src/core/index.js';
import { MemoryStore, Registry, openSqliteStore, policySchema, type PolicySpec, type RegistryOptions, type Store } from '../../src/registry/index.js';

function options(store: Store): RegistryOptions {
  return { store, separator: '__', defaultStatus: 'approved', stdioRegistration: { enabled: false, allowedCommands: [] } };
}

/** A clock that moves one second on every reading, so that "updatedAt moves" never depends on timing. */
function steppingClock(): () => Date {
  let now = Date.parse('2030-01-01T00:00:00.000Z');
  return () => new Date((now += 1000));
}

const admins: PolicySpec = policySchema.parse({ who: { roles: ['admin'] } });
const readers: PolicySpec = policySchema.parse({ who: { roles: ['reader'] }, tools: ['get_*', 'list_*'] });
const noSecrets: PolicySpec = policySchema.parse({ effect: 'deny', tools: ['get-env'] });

function isError(code: string, message?: RegExp): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof GatehouseError, `expected a GatehouseError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  };
}

describe('policies in the registry', () => {
  test('the file seeds its policies read-only as file-0, file-1, … in file order', async () => {
    const registry = await Registry.open(options(new MemoryStore()));
    await registry.seed({ servers: {}, virtualServers: {}, policies: [admins, readers] });

    assert.deepEqual(registry.policies(), [admins, readers]);
    assert.deepEqual(
      registry.policyRecords().map((record) => [record.id, record.source, record.position]),
      [
        ['file-0', 'file', 0],
        ['file-1', 'file', 1],
      ],
    );
    assert.deepEqual(await registry.store.getPolicy('file-1'), registry.policy('file-1'));
    await assert.rejects(registry.replacePolicy('file-0', readers, 'alice'), isError('read_only_record', /auth\.policies\[0\]/));
    await assert.rejects(registry.deletePolicy('file-1', 'alice'), isError('read_only_record'));
    assert.deepEqual(registry.policies(), [admins, readers], 'nothing changed');
    assert.deepEqual((await registry.store.listAdminEvents({ limit: 10 })).items, [], 'a refusal records nothing');
  });

  test('each seed makes the file policies the file\'s again, writing only what changed; leaving policies out leaves them', async () => {
    const store = new MemoryStore({ now: steppingClock() });
    const registry = await Registry.open(options(store));
    await registry.seed({ servers: {}, virtualServers: {}, policies: [admins, readers, noSecrets] });
    const before = registry.policyRecords();
    let notified = 0;
    registry.onChange(() => (notified += 1));

    const revision = await store.revision();
    await registry.seed({ servers: {}, virtualServers: {}, policies: [admins, readers, noSecrets] });
    assert.equal(await store.revision(), revision, 'the same file writes nothing');
    assert.equal(notified, 0, 'and tells no one');

    await registry.seed({ servers: {}, virtualServers: {}, policies: [admins, noSecrets] });
    const after = registry.policyRecords();
    assert.deepEqual(registry.policies(), [admins, noSecrets]);
    assert.deepEqual(after.map((record) => record.id), ['file-0', 'file-1']);
    assert.deepEqual(after[0], before[0], 'an unchanged policy keeps its record, times included');
    assert.equal(after[1]?.createdAt, before[1]?.createdAt);
    assert.ok((after[1]?.updatedAt ?? '') > (before[1]?.updatedAt ?? ''), 'file-1 was replaced');
    assert.equal(await store.getPolicy('file-2'), undefined, 'the policy the file dropped is gone');
    assert.equal(notified, 1);

    await registry.seed({ servers: {}, virtualServers: {} });
    assert.deepEqual(registry.policies(), [admins, noSecrets], 'a seed without policies does not touch them');

    await registry.seed({ servers: {}, virtualServers: {}, policies: [] });
    assert.deepEqual(registry.policyRecords(), []);
    assert.equal(notified, 2);
  });

  test('API policies are created, replaced and deleted with an actor and an event each; listeners hear of every change', async () => {
    const store = new MemoryStore({ now: steppingClock() });
    const registry = await Registry.open(options(store));
    await registry.seed({ servers: {}, virtualServers: {}, policies: [admins] });
    let notified = 0;
    registry.onChange(() => (notified += 1));

    const first = await registry.createPolicy({ who: { roles: ['reader'] }, tools: ['get_*', 'list_*'] }, 'alice');
    assert.match(first.id, /^pol_[A-Za-z0-9_-]{16}$/);
    assert.equal(first.source, 'api');
    assert.equal(first.position, 0);
    assert.deepEqual(first.spec, readers, 'defaults filled in as the config file fills them');
    const second = await registry.createPolicy(noSecrets, 'bob');
    assert.equal(second.position, 1, 'after every API policy there is');
    assert.notEqual(second.id, first.id);
    assert.equal(notified, 2);
    assert.deepEqual(registry.policies(), [admins, readers, noSecrets], 'the file\'s first, then the API\'s by position');
    assert.deepEqual(registry.policy(first.id), first);

    const replaced = await registry.replacePolicy(first.id, { who: { roles: ['reader'] }, tools: ['get_*'], when: 'args.repo == "acme/web"' }, 'carol');
    assert.equal(replaced.id, first.id);
    assert.equal(replaced.position, first.position);
    assert.equal(replaced.createdAt, first.createdAt);
    assert.ok(replaced.updatedAt > first.updatedAt);
    assert.equal(replaced.spec.when, 'args.repo == "acme/web"');
    assert.deepEqual(registry.policies()[1], replaced.spec);
    assert.equal(notified, 3);

    await registry.deletePolicy(second.id, 'dave');
    assert.deepEqual(registry.policyRecords().map((record) => record.id), ['file-0', first.id]);
    assert.equal(await store.getPolicy(second.id), undefined);
    assert.equal(notified, 4);

    await assert.rejects(registry.replacePolicy(second.id, readers, 'dave'), isError('policy_not_found'));
    await assert.rejects(registry.deletePolicy('pol_nothing', 'dave'), isError('policy_not_found'));

    const { items } = await store.listAdminEvents({ limit: 10 });
    assert.deepEqual(
      items.map((event) => [event.actor, event.action, event.target]),
      [
        ['dave', 'policy.delete', second.id],
        ['carol', 'policy.replace', first.id],
        ['bob', 'policy.create', second.id],
        ['alice', 'policy.create', first.id],
      ],
    );
    assert.deepEqual(items[0]?.detail, { spec: noSecrets }, 'a deletion records what was removed');
    assert.deepEqual(items[1]?.detail, { spec: replaced.spec, previous: readers }, 'a replacement records before and after');
    assert.deepEqual(items[3]?.detail, { spec: readers });
  });

  test('a body the config file would refuse is invalid_body, a `when` that is not CEL included, and nothing is stored', async () => {
    const store = new MemoryStore();
    const registry = await Registry.open(options(store));
    const created = await registry.createPolicy(readers, 'alice');
    const revision = await store.revision();

    const refusals: [unknown, RegExp][] = [
      [{ effect: 'maybe' }, /effect/],
      [{ tools: 'get_*' }, /tools/],
      [{ who: { role: ['admin'] } }, /who/],
      [{ servers: ['github'], extra: true }, /extra/],
      [{ when: '' }, /when/],
      [[readers], /root/],
      [undefined, /root/],
    ];
    for (const [body, message] of refusals) {
      await assert.rejects(registry.createPolicy(body, 'alice'), isError('invalid_body', message), JSON.stringify(body));
    }

    for (const attempt of [() => registry.createPolicy({ tools: ['get_*'], when: 'args.repo ==' }, 'alice'), () => registry.replacePolicy(created.id, { when: 'args.path.startsWith(' }, 'alice')]) {
      await assert.rejects(attempt(), (error: unknown) => {
        isError('invalid_body', /when: not a valid CEL expression: /)(error);
        assert.deepEqual((error as GatehouseError).data?.issues, [{ path: 'when', message: (error as GatehouseError).message.split('when: ')[1] }]);
        return true;
      });
    }

    assert.equal(await store.revision(), revision, 'nothing was written');
    assert.deepEqual(registry.policies(), [readers]);
    assert.deepEqual((await store.listAdminEvents({ limit: 10 })).items.map((event) => event.action), ['policy.create']);
  });

  describe('two replicas on one SQLite database', () => {
    let dir: string | undefined;
    after(async () => {
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    test('a policy made through one replica reaches the other by the revision, and either may change it', async () => {
      dir = await mkdtemp(join(tmpdir(), 'gatehouse-policies-'));
      const file = join(dir, 'shared.db');
      const [storeA, storeB] = [await openSqliteStore(file), await openSqliteStore(file)];
      try {
        const a = await Registry.open(options(storeA));
        const b = await Registry.open(options(storeB));
        let notified = 0;
        b.onChange(() => (notified += 1));
        assert.equal(await b.refresh(), false, 'nothing changed yet');

        const created = await a.createPolicy(readers, 'alice');
        assert.deepEqual(b.policies(), [], 'not before it looks');
        assert.equal(await b.refresh(), true);
        assert.equal(notified, 1);
        assert.deepEqual(b.policyRecords(), [created]);

        // B changes it at once; A, which has not looked since, adds the next one after it.
        await b.replacePolicy(created.id, noSecrets, 'bob');
        const next = await a.createPolicy(admins, 'alice');
        assert.equal(next.position, created.position + 1, 'positions come from the store, not a replica\'s copy');
        assert.deepEqual(a.policies(), [noSecrets, admins]);
        assert.equal(await b.refresh(), true);
        assert.deepEqual(b.policies(), [noSecrets, admins]);

        await a.deletePolicy(created.id, 'alice');
        await b.refresh();
        assert.deepEqual(b.policyRecords().map((record) => record.id), [next.id]);
      } finally {
        await storeA.close();
        await storeB.close();
      }
    });
  });
});
