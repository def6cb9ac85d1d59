// Limit rules as registry records: the config file's seeded beside the API's, read-only, the file
// winning a name; API changes validated, logged, and seen by another registry on the same store.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GatehouseError } from '../../src/core/index.js';
import { MemoryStore, Registry, limitRuleSchema, type Store } from '../../src/registry/index.js';

const open = (store: Store): Promise<Registry> =>
  Registry.open({ store, separator: '__', defaultStatus: 'approved', stdioRegistration: { enabled: false, allowedCommands: [] } });

const rule = (name: string, requests = 1) => limitRuleSchema.parse({ name, rate: { requests, per: '1m' } });
const file = (...limits: ReturnType<typeof rule>[]) => ({ servers: {}, virtualServers: {}, limits });

async function failure(promise: Promise<unknown>): Promise<GatehouseError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof GatehouseError, String(error));
    return error;
  }
  assert.fail('did not fail');
}

describe('limit rules in the registry', () => {
  test('the file\'s rules are seeded in file order before the API\'s, and go when the file drops them', async () => {
    const registry = await open(new MemoryStore());
    await registry.seed(file(rule('second'), rule('first')));
    await registry.createLimitRule({ name: 'api-one', quota: { requests: 5, per: 'day' } }, 'alice');
    assert.deepEqual(
      registry.limitRuleRecords().map((record) => [record.name, record.source, record.position]),
      [
        ['second', 'file', 0],
        ['first', 'file', 1],
        ['api-one', 'api', 0],
      ],
    );
    await registry.seed(file(rule('first', 3)));
    assert.deepEqual(
      registry.limitRules().map((spec) => [spec.name, spec.rate?.requests ?? spec.quota?.requests]),
      [
        ['first', 3],
        ['api-one', 5],
      ],
    );
    // Seeding without `limits` (a caller that does not deal in them) leaves them as they are.
    await registry.seed({ servers: {}, virtualServers: {} });
    assert.equal(registry.limitRules().length, 2);
  });

  test('file rules are read-only; names are unique across file and API; unknown names are limit_rule_not_found', async () => {
    const registry = await open(new MemoryStore());
    await registry.seed(file(rule('from-file')));
    assert.equal((await failure(registry.createLimitRule({ name: 'from-file', rate: { requests: 1, per: '1s' } }, 'alice'))).code, 'name_taken');
    assert.equal((await failure(registry.replaceLimitRule('from-file', { rate: { requests: 9, per: '1s' } }, 'alice'))).code, 'read_only_record');
    assert.equal((await failure(registry.deleteLimitRule('from-file', 'alice'))).code, 'read_only_record');
    assert.equal((await failure(registry.replaceLimitRule('nope', { rate: { requests: 9, per: '1s' } }, 'alice'))).code, 'limit_rule_not_found');
    assert.equal((await failure(registry.deleteLimitRule('nope', 'alice'))).code, 'limit_rule_not_found');
    const bad = await failure(registry.createLimitRule({ name: 'bad', rate: { requests: 0, per: '1s' } }, 'alice'));
    assert.equal(bad.code, 'invalid_body');
    assert.deepEqual((bad.data as { issues: { path: string }[] }).issues.map((issue) => issue.path), ['rate.requests']);
  });

  test('the file wins a name an API rule had, with a warning', async () => {
    const store = new MemoryStore();
    const warnings: string[] = [];
    const registry = await Registry.open({
      store,
      separator: '__',
      defaultStatus: 'approved',
      stdioRegistration: { enabled: false, allowedCommands: [] },
      onWarning: (message) => warnings.push(message),
    });
    await registry.createLimitRule({ name: 'shared', rate: { requests: 50, per: '1s' } }, 'alice');
    await registry.seed(file(rule('shared', 2)));
    assert.deepEqual(registry.limitRuleRecords().map((record) => [record.name, record.source, record.spec.rate?.requests]), [['shared', 'file', 2]]);
    assert.ok(warnings.some((message) => /limit rule/.test(message)), warnings.join('\n'));
  });

  test('changes are logged with their actor and seen by another registry on the same store', async () => {
    const store = new MemoryStore();
    const here = await open(store);
    const there = await open(store);
    let changes = 0;
    there.onChange(() => changes++);
    await here.createLimitRule({ name: 'r', rate: { requests: 1, per: '1m' } }, 'alice');
    await here.replaceLimitRule('r', { name: 'r', rate: { requests: 2, per: '1m' } }, 'bob');
    assert.equal(await there.refresh(), true);
    assert.equal(there.limitRule('r')?.spec.rate?.requests, 2);
    assert.equal(changes, 1);
    await here.deleteLimitRule('r', 'carol');
    await there.refresh();
    assert.equal(there.limitRule('r'), undefined);
    const events = (await store.listAdminEvents({ limit: 10 })).items.map((event) => [event.action, event.actor, event.target]);
    assert.deepEqual(events, [
      ['limit.delete', 'carol', 'r'],
      ['limit.replace', 'bob', 'r'],
      ['limit.create', 'alice', 'r'],
    ]);
  });
});
