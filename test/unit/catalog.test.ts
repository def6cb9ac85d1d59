// The router's list cache (router/catalog.ts) with a list source that fails on demand: a failed
// server's list is not asked for again on every call, calls resolve while another server's list is
// outstanding, and a list change asks again at once.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Catalog, FAILED_LIST_RETRY_MS } from '../../src/router/catalog.js';
import { resolveName } from '../../src/router/resolve.js';
import { serverView, type View } from '../../src/router/view.js';
import type { ListKind, Params } from '../../src/protocol/index.js';

const aggregate: View = { name: '*', kind: 'aggregate', servers: ['good', 'bad'], prefixed: true };

/** A list source: `good` lists one tool; `bad` fails, or never answers while `hang` is set. */
function source() {
  const asked = { good: 0, bad: 0 };
  let hang = false;
  const fetch = (server: string, kind: ListKind): Promise<Params[]> => {
    if (kind !== 'tools') return Promise.resolve([]);
    asked[server as 'good' | 'bad'] += 1;
    if (server === 'good') return Promise.resolve([{ name: 'echo', inputSchema: { type: 'object' } }]);
    return hang ? new Promise(() => undefined) : Promise.reject(new Error('bad did not answer'));
  };
  return { asked, fetch, hangFromNowOn: () => (hang = true) };
}

describe('the list cache', () => {
  test('a failed server is left out, its tools say why, and it is not asked again on every call', async () => {
    const { asked, fetch } = source();
    const catalog = new Catalog(fetch, '__', 100);
    const list = await catalog.listFor(aggregate, 'tools');
    assert.deepEqual(list.items.map((item) => item.name), ['good__echo']);
    assert.equal(list.failures.get('bad'), 'bad did not answer');
    for (let call = 0; call < 5; call++) {
      assert.equal((await resolveName(catalog, '__', aggregate, 'tools', 'good__echo'))?.original, 'echo');
      await assert.rejects(resolveName(catalog, '__', aggregate, 'tools', 'bad__echo'), /Its tools could not be listed: bad did not answer/);
    }
    await catalog.listFor(aggregate, 'tools');
    assert.deepEqual(asked, { good: 1, bad: 1 }, `each list fetched once within ${FAILED_LIST_RETRY_MS} ms`);
  });

  test('a list change asks the failed server again at once', async () => {
    const { asked, fetch } = source();
    const catalog = new Catalog(fetch, '__', 100);
    await catalog.listFor(aggregate, 'tools');
    catalog.invalidate('bad', ['tools']);
    const list = await catalog.listFor(aggregate, 'tools');
    assert.equal(list.failures.size, 1);
    assert.deepEqual(asked, { good: 1, bad: 2 });
  });

  test('while a server\'s list is outstanding, names of the others resolve from their own lists', async () => {
    const { fetch, hangFromNowOn } = source();
    hangFromNowOn();
    const catalog = new Catalog(fetch, '__', 100);
    // The merged list cannot be built (bad never answers); the call needs only good's list.
    assert.equal(catalog.peek(aggregate, 'tools'), undefined);
    const target = await resolveName(catalog, '__', aggregate, 'tools', 'good__echo');
    assert.deepEqual(target && { server: target.server, original: target.original }, { server: 'good', original: 'echo' });
    assert.equal(await resolveName(catalog, '__', aggregate, 'tools', 'good__nope'), undefined);
  });

  test('a server list left out of a merged list is reported once when it is fetched again, and the merged list then has it', async () => {
    let failing = true;
    const fetch = (server: string, kind: ListKind): Promise<Params[]> => {
      if (kind !== 'tools') return Promise.resolve([]);
      if (server === 'bad' && failing) return Promise.reject(new Error('bad is starting'));
      return Promise.resolve([{ name: 'echo', inputSchema: { type: 'object' } }]);
    };
    const returned: string[] = [];
    const catalog = new Catalog(fetch, '__', 100, (server, kind) => returned.push(`${server} ${kind}`));
    assert.deepEqual((await catalog.listFor(aggregate, 'tools')).items.map((item) => item.name), ['good__echo']);
    failing = false;
    // The server is up again (the router's onSharedReady): its failure is forgotten and its list fetched.
    catalog.forgetFailures('bad');
    await catalog.listFor(serverView('bad'), 'tools');
    assert.deepEqual(returned, ['bad tools']);
    assert.deepEqual((await catalog.listFor(aggregate, 'tools')).items.map((item) => item.name), ['good__echo', 'bad__echo']);
    await catalog.listFor(serverView('bad'), 'tools');
    assert.deepEqual(returned, ['bad tools'], 'reported once');
  });
});

