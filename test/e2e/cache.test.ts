// The response cache through a gateway process: a repeated call is answered without reaching the
// server (the fixture's counter does not move) and says so in _meta; callers have their own entries
// unless a rule shares them; failures are never cached.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Registry, openSqliteStore, type Store } from '../../src/registry/index.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js';

const TIMEOUT = { timeout: 120_000 };
const longWork = { command: process.execPath, args: ['--import', 'tsx', 'test/fixtures/long-work-server.ts', '--stdio'], isolation: 'shared' };

interface ToolAnswer {
  text: string;
  cached: boolean;
  isError: boolean;
}

describe('response cache', () => {
  let gateway: GatewayProcess;
  let store: Store;
  const clients: Client[] = [];
  let alice: Client;
  let bob: Client;
  let prometheus: string;

  async function connect(token: string): Promise<Client> {
    const client = new Client({ name: 'cache-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    clients.push(client);
    return client;
  }

  async function call(client: Client, name: string): Promise<ToolAnswer> {
    const result = await client.callTool({ name, arguments: {} });
    return {
      text: (result.content as { text: string }[])[0]!.text,
      cached: (result._meta as Record<string, unknown> | undefined)?.['io.gatehouse/cache'] !== undefined,
      isError: result.isError === true,
    };
  }

  before(async () => {
    gateway = await startGateway({
      auth: { required: true },
      registry: { healthCheckIntervalMs: 0 },
      servers: { mine: longWork, everyone: longWork },
      cache: {
        rules: [
          { servers: ['mine'], tools: ['tick', 'fail'], ttl: '1h' },
          { servers: ['everyone'], tools: ['tick'], ttl: '1h', shared: true },
        ],
      },
    });
    store = await openSqliteStore(join(gateway.configFile, '..', 'data', 'gatehouse.db'));
    const registry = await Registry.open({ store, separator: '__', defaultStatus: 'approved', stdioRegistration: { enabled: false, allowedCommands: [] } });
    alice = await connect((await registry.createApiKey({ name: 'alice', roles: ['user'], actor: 'test' })).token);
    bob = await connect((await registry.createApiKey({ name: 'bob', roles: ['user'], actor: 'test' })).token);
    prometheus = (await registry.createApiKey({ name: 'prometheus', roles: ['metrics'], actor: 'test' })).token;
  });

  after(async () => {
    for (const client of clients) await client.close();
    await store?.close();
    await gateway?.close();
  });

  test('a repeated call is answered from the cache without reaching the server, and says so', TIMEOUT, async () => {
    const first = await call(alice, 'mine__tick');
    assert.equal(first.cached, false);
    const second = await call(alice, 'mine__tick');
    assert.deepEqual(second, { ...first, cached: true });
  });

  test('another caller gets their own entry; a shared rule serves everyone the same one', TIMEOUT, async () => {
    const alices = await call(alice, 'mine__tick');
    const bobs = await call(bob, 'mine__tick');
    assert.notEqual(bobs.text, alices.text);
    assert.equal(bobs.cached, false);
    const forAlice = await call(alice, 'everyone__tick');
    const forBob = await call(bob, 'everyone__tick');
    assert.equal(forBob.text, forAlice.text);
    assert.equal(forBob.cached, true);
  });

  test('a failed call is never cached', TIMEOUT, async () => {
    const first = await call(alice, 'mine__fail');
    const second = await call(alice, 'mine__fail');
    assert.equal(first.isError, true);
    assert.equal(second.cached, false);
    assert.notEqual(second.text, first.text);
  });

  test('hits and misses are counted in the metrics', TIMEOUT, async () => {
    const scrape = async (): Promise<Record<string, number>> => {
      const text = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${prometheus}` } })).text();
      const counts: Record<string, number> = {};
      for (const match of text.matchAll(/^gatehouse_cache_lookups_total\{result="(hit|miss)"\} (\d+)$/gm)) counts[match[1]!] = Number(match[2]);
      return counts;
    };
    await call(bob, 'everyone__tick'); // the entry exists from here on
    const before = await scrape();
    await call(alice, 'everyone__tick');
    await call(bob, 'everyone__tick');
    const after = await scrape();
    assert.equal((after['hit'] ?? 0) - (before['hit'] ?? 0), 2);
    assert.equal(after['miss'] ?? 0, before['miss'] ?? 0);
  });
});
