// Changes without restarts: an edit of the config file (or a change through the admin API) applies
// while clients stay connected. Affected clients get list_changed; untouched ones see nothing; calls
// in flight finish; a broken file is refused and the running config stays.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { stringify } from 'yaml';
import { everythingStdio, startGateway, waitFor, type GatewayProcess } from '../helpers/gateway-process.js';

interface Watched {
  client: Client;
  listChanged: number;
}

async function connect(url: string): Promise<Watched> {
  const client = new Client({ name: 'reload-e2e', version: '1.0.0' }, { capabilities: {} });
  const watched: Watched = { client, listChanged: 0 };
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    watched.listChanged += 1;
  });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return watched;
}

async function toolNames(client: Client): Promise<string[]> {
  return (await client.listTools()).tools.map((tool) => tool.name);
}

const alpha = { ...everythingStdio, isolation: 'shared' };
const beta = { ...everythingStdio, isolation: 'shared', tags: ['second'] };

describe('changes without restarts', () => {
  let gateway: GatewayProcess;
  let aggregate: Watched;
  let alphaOnly: Watched;
  const base = { log: { level: 'debug' }, registry: { healthCheckIntervalMs: 0 } };

  /** Rewrites the gateway's config file (its data dir stays) and waits for the gateway to log the outcome. */
  async function rewrite(config: Record<string, unknown>, outcome: 'config file applied' | 'config file not applied: the running config stays'): Promise<void> {
    const seen = gateway.logs.filter((line) => line.msg === outcome).length;
    const dataDir = gateway.configFile.replace(/gatehouse\.yaml$/, 'data');
    await writeFile(gateway.configFile, typeof config === 'string' ? config : stringify({ ...base, dataDir, ...config }));
    await waitFor(() => gateway.logs.filter((line) => line.msg === outcome).length > seen, 30_000, outcome);
  }

  before(async () => {
    gateway = await startGateway({ ...base, servers: { alpha } });
    aggregate = await connect(`${gateway.url}/mcp`);
    assert.ok((await toolNames(aggregate.client)).includes('alpha__echo'));
    // server-everything registers more tools once initialized and announces each with list_changed,
    // which can reach the gateway after its first tools/list answer and is then relayed. A call
    // answered after them proves they are in, so the session below starts after alpha's own changes.
    await aggregate.client.callTool({ name: 'alpha__echo', arguments: { message: 'settled' } });
    alphaOnly = await connect(`${gateway.url}/servers/alpha/mcp`);
    assert.ok((await toolNames(alphaOnly.client)).includes('echo'));
  });

  after(async () => {
    await aggregate?.client.close();
    await alphaOnly?.client.close();
    await gateway?.close();
  });

  test('a server added to the file is announced and callable by an already-connected client', async () => {
    const before = aggregate.listChanged;
    await rewrite({ servers: { alpha, beta } }, 'config file applied');
    await waitFor(() => aggregate.listChanged > before, 30_000, 'tools/list_changed');
    assert.ok((await toolNames(aggregate.client)).includes('beta__echo'));
    const result = await aggregate.client.callTool({ name: 'beta__echo', arguments: { message: 'hello beta' } });
    assert.match(JSON.stringify(result.content), /hello beta/);
  });

  test('a session on an untouched server\'s endpoint is left alone', async () => {
    // alpha was never touched: its own endpoint's session got no list_changed and still works.
    assert.equal(alphaOnly.listChanged, 0);
    const result = await alphaOnly.client.callTool({ name: 'echo', arguments: { message: 'still here' } });
    assert.match(JSON.stringify(result.content), /still here/);
  });

  test('a broken edit is refused with a message and the running config keeps serving', async () => {
    await rewrite('servers: [this is: not valid' as unknown as Record<string, unknown>, 'config file not applied: the running config stays');
    await rewrite({ servers: { alpha, beta: { command: '' } } }, 'config file not applied: the running config stays');
    const refusal = gateway.logs.filter((line) => line.msg === 'config file not applied: the running config stays').at(-1)!;
    assert.match(String(refusal.reason), /servers\.beta\.command/);
    const names = await toolNames(aggregate.client);
    assert.ok(names.includes('alpha__echo') && names.includes('beta__echo'));
  });

  test('a removed server finishes the call in flight, then leaves the lists', async () => {
    let progressed = 0;
    const call = aggregate.client.callTool(
      { name: 'beta__trigger-long-running-operation', arguments: { duration: 2, steps: 4 } },
      undefined,
      { timeout: 60_000, onprogress: () => (progressed += 1) },
    );
    // The first progress notification proves the call is running upstream.
    await waitFor(() => progressed > 0, 30_000, 'the first progress notification');
    const before = aggregate.listChanged;
    await rewrite({ servers: { alpha } }, 'config file applied');
    const result = await call;
    assert.match(JSON.stringify(result.content), /completed/i);
    await waitFor(() => aggregate.listChanged > before, 30_000, 'tools/list_changed');
    const names = await toolNames(aggregate.client);
    assert.ok(names.includes('alpha__echo'));
    assert.ok(!names.some((name) => name.startsWith('beta__')));
    assert.equal(alphaOnly.listChanged, 0);
  });

  test('a server added through the admin API is callable by a connected client within moments', async () => {
    const before = aggregate.listChanged;
    const response = await fetch(`${gateway.url}/admin/api/v1/servers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'gamma', url: `${gateway.url}/servers/alpha/mcp` }),
    });
    assert.equal(response.status, 201, await response.clone().text());
    await waitFor(() => aggregate.listChanged > before, 30_000, 'tools/list_changed');
    const result = await aggregate.client.callTool({ name: 'gamma__echo', arguments: { message: 'via the API' } });
    assert.match(JSON.stringify(result.content), /via the API/);
  });
});
