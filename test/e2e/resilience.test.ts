import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { textOf } from '../helpers/results.js';

function fixture(name: string, env: Record<string, string> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { command: process.execPath, args: ['--import', 'tsx', `test/fixtures/${name}.ts`, '--stdio'], env, ...extra };
}

describe('one broken, slow or hung upstream never breaks a client session', () => {
  let gateway: GatewayProcess;
  let client: Client;

  before(async () => {
    gateway = await startGateway({
      upstreamDefaults: { listTimeoutMs: 8_000, restartBackoffMs: 100 },
      servers: {
        good: everythingStdio,
        crashy: fixture('crash-server', {}, { isolation: 'shared' }),
        hung: fixture('hang-server', {}, { requestTimeoutMs: 1_500 }),
        dead: fixture('crash-server', { CRASH_ON_START: '1' }, { isolation: 'shared' }),
        slow: fixture('slow-start-server', { SLOW_START_MS: '500' }),
      },
    });
    client = new Client({ name: 'resilience', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
  });

  test('lists leave out the servers that fail or hang and keep the others', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    assert.ok(names.includes('good__echo'), names.join(','));
    assert.ok(names.includes('crashy__echo'), names.join(','));
    assert.ok(names.includes('slow__echo'), names.join(','));
    assert.ok(!names.some((name) => name.startsWith('hung__') || name.startsWith('dead__')), names.join(','));
  });

  test('/readyz reports the server that cannot start, with the reason', async () => {
    const response = await fetch(`${gateway.url}/readyz`);
    assert.equal(response.status, 503);
    const report = (await response.json()) as { ready: boolean; servers: Record<string, { state: string; lastError?: string }> };
    assert.equal(report.ready, false);
    assert.equal(report.servers.dead?.state, 'down');
    assert.match(report.servers.dead?.lastError ?? '', /exited|closed/);
    assert.equal(report.servers.good?.state, 'ready');
  });

  test('a call to a server that is down is a tool error the agent can act on', async () => {
    const result = await client.callTool({ name: 'dead__echo', arguments: { text: 'x' } });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /dead/);
  });

  test('a server whose lists hang is left out, and its tools say why', async () => {
    const result = await client.callTool({ name: 'hung__echo', arguments: { text: 'x' } });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /hung.*did not answer/);
  });

  test('a call to a hung server times out as a tool error, and the session goes on', async () => {
    const single = new Client({ name: 'single', version: '1' });
    await single.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/servers/hung/mcp`)));
    try {
      const result = await single.callTool({ name: 'echo', arguments: { text: 'x' } });
      assert.equal(result.isError, true);
      assert.match(textOf(result), /did not answer within 1500 ms/);
      assert.deepEqual(await single.ping(), {});
    } finally {
      await single.close();
    }
    const echo = await client.callTool({ name: 'good__echo', arguments: { message: 'after' } });
    assert.equal(textOf(echo), 'Echo: after');
  });

  test('a server that crashes mid-call gives a tool error, is restarted, and serves again', async () => {
    const crashed = await client.callTool({ name: 'crashy__crash', arguments: {} });
    assert.equal(crashed.isError, true);
    assert.match(textOf(crashed), /crashy/);
    // The supervisor restarts it with backoff; calls succeed again once it is back.
    let text = '';
    for (let attempt = 0; attempt < 200 && text !== 'back'; attempt++) {
      const result = await client.callTool({ name: 'crashy__echo', arguments: { text: 'back' } });
      text = result.isError ? '' : textOf(result);
      if (!text) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(text, 'back');
    assert.ok(gateway.logs.some((line) => line.msg === 'restarting upstream' && line.server === 'crashy'));
  });
});

describe('a server whose lists never answer holds up no call to the others', () => {
  let gateway: GatewayProcess;
  let client: Client;

  before(async () => {
    // Its lists are given ten minutes: a call that waited for them would run past the test's timeout.
    gateway = await startGateway({
      upstreamDefaults: { listTimeoutMs: 600_000 },
      servers: { good: everythingStdio, hung: fixture('hang-server') },
    });
    client = new Client({ name: 'resilience-hung-list', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
  });

  test('calls to another server are answered while the hung list is outstanding, each time', { timeout: 90_000 }, async () => {
    for (let call = 0; call < 3; call++) {
      const echo = await client.callTool({ name: 'good__echo', arguments: { message: `call ${call}` } });
      assert.equal(textOf(echo), `Echo: call ${call}`);
    }
  });
});

describe('a server that never answers logging/setLevel holds up no client', () => {
  let gateway: GatewayProcess;
  let client: Client;

  before(async () => {
    gateway = await startGateway({
      upstreamDefaults: { listTimeoutMs: 1_000 },
      // Its requests are given ten minutes: a setLevel that waited for it would run past the test's timeout.
      servers: { good: everythingStdio, mute: fixture('hang-server', { HANG_LOGGING: '1' }, { isolation: 'shared', requestTimeoutMs: 600_000 }) },
    });
    client = new Client({ name: 'resilience-mute-logging', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
  });

  test('logging/setLevel through /mcp is answered after listTimeoutMs at most, and the session goes on', { timeout: 90_000 }, async () => {
    assert.deepEqual(await client.setLoggingLevel('debug', { timeout: 80_000 }), {});
    const echo = await client.callTool({ name: 'good__echo', arguments: { message: 'after setLevel' } });
    assert.equal(textOf(echo), 'Echo: after setLevel');
  });
});

/** Each call of the returned function gives a promise of the client's next tools/list_changed. */
function toolsListChanges(client: Client): () => Promise<void> {
  const waiting: (() => void)[] = [];
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    for (const resolve of waiting.splice(0)) resolve();
  });
  return () => new Promise((resolve) => waiting.push(resolve));
}

/**
 * Lists the tools again at each tools/list_changed from `changed` on, until `done` holds for their
 * names (other servers may announce changes of their own meanwhile); at most ten notices.
 */
async function listAtChangesUntil(client: Client, nextChange: () => Promise<void>, changed: Promise<void>, done: (names: string[]) => boolean): Promise<string[]> {
  let names: string[] = [];
  for (let notices = 0; notices < 10 && !done(names); notices++) {
    await changed;
    changed = nextChange();
    names = (await client.listTools()).tools.map((tool) => tool.name);
  }
  return names;
}

describe('a server left out of the lists while it starts', () => {
  let gateway: GatewayProcess;
  let client: Client;
  let nextChange: () => Promise<void>;

  before(async () => {
    gateway = await startGateway({
      upstreamDefaults: { listTimeoutMs: 1_000 },
      // Ready seconds after its lists were first asked for.
      servers: { good: everythingStdio, late: fixture('slow-start-server', { SLOW_START_MS: '6000' }) },
    });
    client = new Client({ name: 'resilience-late', version: '1' });
    nextChange = toolsListChanges(client);
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
  });

  test('is announced with list_changed once it is up, and its tools are listed then', { timeout: 90_000 }, async () => {
    const changed = nextChange();
    const before = (await client.listTools()).tools.map((tool) => tool.name);
    assert.ok(before.includes('good__echo') && !before.some((name) => name.startsWith('late__')), before.join(','));
    const after = await listAtChangesUntil(client, nextChange, changed, (names) => names.includes('late__echo'));
    assert.ok(after.includes('late__echo'), after.join(','));
    const echo = await client.callTool({ name: 'late__echo', arguments: { text: 'late but here' } });
    assert.equal(textOf(echo), 'late but here');
  });
});

describe('a server that comes back from a restart with other tools', () => {
  let dir: string;
  let gateway: GatewayProcess;
  let client: Client;
  let nextChange: () => Promise<void>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-resilience-'));
    const upgraded = join(dir, 'upgraded');
    // Until the marker exists it is crash-server (echo and crash); restarted after that, slow-start-server (echo only).
    const fixtureCommand = (name: string): string => `exec "${process.execPath}" --import tsx test/fixtures/${name}.ts --stdio`;
    gateway = await startGateway({
      upstreamDefaults: { restartBackoffMs: 100 },
      servers: {
        flip: {
          command: 'sh',
          args: ['-c', `if [ -e "${upgraded}" ]; then ${fixtureCommand('slow-start-server')}; else ${fixtureCommand('crash-server')}; fi`],
          env: { SLOW_START_MS: '0' },
          isolation: 'shared',
        },
      },
    });
    client = new Client({ name: 'resilience-flip', version: '1' });
    nextChange = toolsListChanges(client);
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('is announced with list_changed, and the lists then show what it offers now', { timeout: 90_000 }, async () => {
    const before = (await client.listTools()).tools.map((tool) => tool.name);
    assert.deepEqual(before.sort(), ['flip__crash', 'flip__echo']);
    await writeFile(join(dir, 'upgraded'), '');
    const changed = nextChange();
    const crashed = await client.callTool({ name: 'flip__crash', arguments: {} });
    assert.equal(crashed.isError, true);
    const after = await listAtChangesUntil(client, nextChange, changed, (names) => names.length > 0 && !names.includes('flip__crash'));
    assert.deepEqual(after, ['flip__echo']);
  });
});
