// The fixture servers in test/fixtures/ behave as the tests that use them assume.
// Real processes on loopback; readiness is awaited, never slept for. The only waits are the short
// windows that prove something does NOT happen (a hung server stays silent, a process stays alive).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, it, type TestContext } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { benchTools } from '../fixtures/bench-tools.js';
import { fixturePath, startHttpFixture, startStdioFixture, type ExitStatus } from '../fixtures/spawn-fixture.js';

const testTimeout = { timeout: 120_000 };
/** Long enough for a loaded CI machine to answer anything that will be answered at all. */
const answerTimeoutMs = 30_000;
/** How long a hung server must stay silent for the test to call it hung. */
const silenceMs = 1_500;

const crashServer = fixturePath('crash-server.ts');
const hangServer = fixturePath('hang-server.ts');
const slowStartServer = fixturePath('slow-start-server.ts');
const benchServer = fixturePath('bench-server.ts');
const everythingHttp = fixturePath('everything-http.ts');

async function connect(t: TestContext, transport: Transport, timeout = answerTimeoutMs): Promise<Client> {
  const client = new Client({ name: 'fixtures-test', version: '1.0.0' });
  t.after(() => client.close());
  await client.connect(transport, { timeout });
  return client;
}

function httpTransport(url: string): StreamableHTTPClientTransport {
  return new StreamableHTTPClientTransport(new URL(url));
}

async function echoText(client: Client, text: string): Promise<unknown> {
  const result = await client.callTool({ name: 'echo', arguments: { text } }, undefined, { timeout: answerTimeoutMs });
  assert.ok(Array.isArray(result.content));
  return result.content[0];
}

function isTimeout(error: unknown): boolean {
  return error instanceof McpError && error.code === ErrorCode.RequestTimeout;
}

/** 'alive' if the process has not exited within `ms`. */
async function stillAliveAfter(exited: Promise<ExitStatus>, ms: number): Promise<'alive' | ExitStatus> {
  return Promise.race([exited, delay(ms, 'alive' as const)]);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Local addresses (hex, as in /proc/net/tcp*) with a listening socket on `port`. */
async function listeningAddresses(port: number): Promise<string[]> {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const addresses: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      // State 0A is LISTEN.
      if (local?.endsWith(`:${portHex}`) && state === '0A') addresses.push(local.slice(0, -5));
    }
  }
  return addresses;
}

describe('crash-server', () => {
  it('answers echo over stdio, and exits with code 1 when the crash tool is called', testTimeout, async (t) => {
    const fixture = startStdioFixture(crashServer);
    t.after(() => fixture.close());
    const client = await connect(t, fixture.transport);

    assert.deepEqual(await echoText(client, 'still here'), { type: 'text', text: 'still here' });
    await assert.rejects(client.callTool({ name: 'crash', arguments: {} }, undefined, { timeout: answerTimeoutMs }), (error) => !isTimeout(error));
    assert.deepEqual(await fixture.exited, { code: 1, signal: null });
  });

  it('exits with code 1 mid-call over HTTP too, and the call fails instead of hanging', testTimeout, async (t) => {
    const fixture = await startHttpFixture(crashServer);
    t.after(() => fixture.close());
    const client = await connect(t, httpTransport(fixture.url));

    assert.deepEqual(await echoText(client, 'over http'), { type: 'text', text: 'over http' });
    await assert.rejects(client.callTool({ name: 'crash', arguments: {} }, undefined, { timeout: answerTimeoutMs }), (error) => !isTimeout(error));
    assert.deepEqual(await fixture.exited, { code: 1, signal: null });
  });

  it('exits with code 1 at start when CRASH_ON_START=1', testTimeout, async (t) => {
    const fixture = startStdioFixture(crashServer, { env: { CRASH_ON_START: '1' } });
    t.after(() => fixture.close());
    assert.deepEqual(await fixture.exited, { code: 1, signal: null });
    assert.match(fixture.stderrTail(), /CRASH_ON_START/);

    await assert.rejects(startHttpFixture(crashServer, [], { CRASH_ON_START: '1' }), /exited \(code 1/);
  });
});

describe('hang-server', () => {
  it('completes initialize over stdio, then never answers tools/list or tools/call', testTimeout, async (t) => {
    const fixture = startStdioFixture(hangServer);
    t.after(() => fixture.close());
    const client = await connect(t, fixture.transport);

    await assert.rejects(client.listTools(undefined, { timeout: silenceMs }), isTimeout);
    await assert.rejects(client.callTool({ name: 'echo', arguments: { text: 'x' } }, undefined, { timeout: silenceMs }), isTimeout);
    assert.equal(fixture.child.exitCode, null);
  });

  it('stays alive after its stdin closes, until signalled', testTimeout, async (t) => {
    const fixture = startStdioFixture(hangServer);
    t.after(() => fixture.close());
    await connect(t, fixture.transport);

    fixture.child.stdin!.end();
    assert.equal(await stillAliveAfter(fixture.exited, silenceMs), 'alive');
    await fixture.close();
    assert.deepEqual(await fixture.exited, { code: null, signal: 'SIGTERM' });
  });

  it('never answers initialize when HANG_INITIALIZE=1', testTimeout, async (t) => {
    const fixture = startStdioFixture(hangServer, { env: { HANG_INITIALIZE: '1' } });
    t.after(() => fixture.close());
    const client = new Client({ name: 'fixtures-test', version: '1.0.0' });
    t.after(() => client.close());

    await assert.rejects(client.connect(fixture.transport, { timeout: silenceMs }), isTimeout);
  });

  it('ignores SIGTERM when HANG_IGNORE_SIGTERM=1, so close() has to escalate to SIGKILL', testTimeout, async (t) => {
    const fixture = startStdioFixture(hangServer, { env: { HANG_IGNORE_SIGTERM: '1' }, killGraceMs: 1_000 });
    t.after(() => fixture.close());
    await connect(t, fixture.transport);

    await fixture.close();
    assert.deepEqual(await fixture.exited, { code: null, signal: 'SIGKILL' });
  });

  it('hangs the same way over HTTP, in both modes', testTimeout, async (t) => {
    const fixture = await startHttpFixture(hangServer);
    t.after(() => fixture.close());
    const client = await connect(t, httpTransport(fixture.url));
    await assert.rejects(client.listTools(undefined, { timeout: silenceMs }), isTimeout);

    const hangInitialize = await startHttpFixture(hangServer, [], { HANG_INITIALIZE: '1' });
    t.after(() => hangInitialize.close());
    const stuckClient = new Client({ name: 'fixtures-test', version: '1.0.0' });
    t.after(() => stuckClient.close());
    await assert.rejects(stuckClient.connect(httpTransport(hangInitialize.url), { timeout: silenceMs }), isTimeout);
  });
});

describe('slow-start-server', () => {
  it('reads nothing on stdio for SLOW_START_MS, then serves echo', testTimeout, async (t) => {
    const startedAt = performance.now();
    const fixture = startStdioFixture(slowStartServer, { env: { SLOW_START_MS: '1500' } });
    t.after(() => fixture.close());
    const client = await connect(t, fixture.transport);

    assert.ok(performance.now() - startedAt >= 1_500, 'initialize was answered before SLOW_START_MS');
    assert.deepEqual(await echoText(client, 'late'), { type: 'text', text: 'late' });
  });

  it('announces its HTTP url only after SLOW_START_MS', testTimeout, async (t) => {
    const startedAt = performance.now();
    const fixture = await startHttpFixture(slowStartServer, [], { SLOW_START_MS: '1500' });
    t.after(() => fixture.close());

    assert.ok(performance.now() - startedAt >= 1_500, 'url announced before SLOW_START_MS');
    const client = await connect(t, httpTransport(fixture.url));
    assert.deepEqual(await echoText(client, 'late'), { type: 'text', text: 'late' });
  });

  it('defaults to a 3 s delay', testTimeout, async (t) => {
    const startedAt = performance.now();
    const fixture = await startHttpFixture(slowStartServer, [], { SLOW_START_MS: undefined });
    t.after(() => fixture.close());
    assert.ok(performance.now() - startedAt >= 3_000);
  });
});

describe('bench-server', () => {
  it('lists echo and 100 realistic tools, the same on every run', testTimeout, async (t) => {
    const fixture = await startHttpFixture(benchServer);
    t.after(() => fixture.close());
    const client = await connect(t, httpTransport(fixture.url));

    const { tools } = await client.listTools(undefined, { timeout: answerTimeoutMs });
    assert.equal(tools.length, 101);
    assert.equal(new Set(tools.map((tool) => tool.name)).size, 101);
    assert.equal(tools[0]?.name, 'echo');
    for (const name of ['github_create_issue', 'jira_search', 'slack_post_message', 'kubernetes_scale_deployment']) {
      assert.ok(tools.some((tool) => tool.name === name), `missing ${name}`);
    }
    assert.deepEqual(JSON.parse(JSON.stringify(tools)), JSON.parse(JSON.stringify(benchTools)));
    const withEnums = tools.filter((tool) => JSON.stringify(tool.inputSchema).includes('"enum"'));
    const withNestedObjects = tools.filter((tool) => Object.values(tool.inputSchema.properties ?? {}).some((property) => (property as { type?: unknown }).type === 'object'));
    assert.ok(withEnums.length >= 60 && withNestedObjects.length >= 40, 'schemas should be varied');
    assert.ok(JSON.stringify(tools).length > 60_000, 'tools/list should be realistically large');
  });

  it('echoes the text argument back, in a session of its own', testTimeout, async (t) => {
    const fixture = await startHttpFixture(benchServer);
    t.after(() => fixture.close());
    const transport = httpTransport(fixture.url);
    const client = await connect(t, transport);

    assert.equal(typeof transport.sessionId, 'string');
    assert.deepEqual(await echoText(client, 'ping 1'), { type: 'text', text: 'ping 1' });
    const stats = (await (await fetch(new URL('/stats', fixture.url))).json()) as unknown;
    assert.deepEqual(stats, { sessions: 1 });
  });

  it('serves without sessions with --stateless, and over stdio', testTimeout, async (t) => {
    const stateless = await startHttpFixture(benchServer, ['--stateless']);
    t.after(() => stateless.close());
    const transport = httpTransport(stateless.url);
    const client = await connect(t, transport);
    assert.equal(transport.sessionId, undefined);
    assert.deepEqual(await echoText(client, 'stateless'), { type: 'text', text: 'stateless' });

    const stdio = startStdioFixture(benchServer);
    t.after(() => stdio.close());
    const stdioClient = await connect(t, stdio.transport);
    assert.deepEqual(await echoText(stdioClient, 'stdio'), { type: 'text', text: 'stdio' });
  });
});

describe('everything-http', () => {
  it('runs server-everything on a free loopback port and announces its url', testTimeout, async (t) => {
    const fixture = await startHttpFixture(everythingHttp);
    t.after(() => fixture.close());
    const url = new URL(fixture.url);
    assert.equal(url.hostname, '127.0.0.1');
    assert.equal(url.pathname, '/mcp');

    const client = await connect(t, httpTransport(fixture.url));
    const { tools } = await client.listTools(undefined, { timeout: answerTimeoutMs });
    assert.ok(tools.some((tool) => tool.name === 'echo'));
    const result = await client.callTool({ name: 'echo', arguments: { message: 'hi' } }, undefined, { timeout: answerTimeoutMs });
    assert.match(JSON.stringify(result.content), /hi/);

    const addresses = await listeningAddresses(Number(url.port));
    if (addresses.length > 0) assert.deepEqual(addresses, ['0100007F'], 'listens on 127.0.0.1 only');
  });
});

describe('spawn-fixture', () => {
  it('close() kills the process group and can be called twice', testTimeout, async () => {
    const fixture = await startHttpFixture(benchServer);
    assert.ok(processExists(fixture.pid));

    await Promise.all([fixture.close(), fixture.close()]);
    await fixture.close();
    assert.equal(processExists(fixture.pid), false);
    assert.equal((await fixture.exited).signal, 'SIGTERM');
  });
});
