// The ways in and out of the gateway besides Streamable HTTP: the stdio front (for desktop clients
// that spawn processes), the legacy HTTP+SSE front (spec 2024-11-05) for old clients, a legacy SSE
// upstream, and the `gatehouse` CLI itself. Real processes on 127.0.0.1, the official SDK v1 client.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CreateMessageRequestSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { stringify } from 'yaml';
import { fixturePath, repoRoot, startHttpFixture, tsxImport, type HttpFixture } from '../fixtures/spawn-fixture.js';
import { commandLineOf, killSurvivors, snapshotDescendants, survivorsOf, type ProcessRecord } from '../fixtures/process-tree.js';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { runCli } from '../helpers/cli.js';
import { textOf } from '../helpers/results.js';

/** Generous: tsx compiles on first run and CI machines are loaded. */
const callTimeout = { timeout: 60_000 };

function newClient(name: string): Client {
  const client = new Client({ name, version: '1.0.0' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
    role: 'assistant',
    model: `model-of-${name}`,
    content: { type: 'text', text: `sampled by ${name}: ${JSON.stringify(request.params.messages[0]?.content)}` },
  }));
  return client;
}

async function connect(name: string, transport: Transport): Promise<{ client: Client; wire: JSONRPCMessage[] }> {
  const client = newClient(name);
  await client.connect(transport, callTimeout);
  return { client, wire: recordWire(transport) };
}

async function writeConfig(config: Record<string, unknown>): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-fronts-'));
  const file = join(dir, 'gatehouse.yaml');
  await writeFile(file, stringify(config));
  return { dir, file };
}

/**
 * Records every message the transport delivers, in wire order. The SDK v1 client handles a
 * notification a microtask later than a response, so when the last progress notification and the
 * response arrive in one read it drops that progress as "unknown token"; the order on the wire is
 * what the gateway controls, so the tests check that.
 */
function recordWire(transport: Transport): JSONRPCMessage[] {
  const wire: JSONRPCMessage[] = [];
  const deliver = transport.onmessage;
  assert.ok(deliver, 'record the wire after client.connect(), once the client listens');
  transport.onmessage = (message, extra) => {
    wire.push(message);
    deliver.call(transport, message, extra);
  };
  return wire;
}

/** Errors the SDK reports for a progress notification that came, on the wire, before its response. */
const isSdkProgressRace = (error: Error): boolean => /progress notification for an unknown token/.test(error.message);

interface ProgressCall {
  text: string;
  /** Progress values of this call on the wire, in order, all before the response. */
  progress: number[];
}

/** A long-running call with a progress token: its result and its progress as the wire carried it. */
async function longRunningCall(client: Client, wire: JSONRPCMessage[], tool: string, steps: number): Promise<ProgressCall> {
  const from = wire.length;
  const result = await client.callTool({ name: tool, arguments: { duration: 1, steps } }, undefined, { ...callTimeout, onprogress: () => undefined });
  const messages = wire.slice(from);
  const responseAt = messages.findIndex((message) => 'result' in message && (message.result as { content?: unknown }).content !== undefined);
  assert.ok(responseAt >= 0, 'the response went through the wire recorder');
  const token = (messages[responseAt] as { id: string | number }).id;
  const progress = messages.flatMap((message, index) => {
    if (!('method' in message) || message.method !== 'notifications/progress') return [];
    const params = message.params as { progressToken: string | number; progress: number };
    if (params.progressToken !== token) return [];
    assert.ok(index < responseAt, `progress ${params.progress} came after the response`);
    return [params.progress];
  });
  return { text: textOf(result), progress };
}

describe('the stdio front serves one client over stdin/stdout', () => {
  let transport: StdioClientTransport;
  let client: Client;
  let wire: JSONRPCMessage[];
  let config: { dir: string; file: string };
  let gatewayPid: number | undefined;
  let spawned: ProcessRecord[] = [];
  const clientErrors: Error[] = [];
  const stderrLines: string[] = [];

  before(async () => {
    config = await writeConfig({ log: { level: 'debug' }, servers: { everything: everythingStdio } });
    transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--import', tsxImport, 'src/cli/main.ts', 'stdio', '--config', config.file],
      cwd: repoRoot,
      stderr: 'pipe',
    });
    // Read stderr as it comes, or a chatty gateway would block on a full pipe.
    createInterface({ input: transport.stderr as PassThrough }).on('line', (line) => stderrLines.push(line));
    client = newClient('stdio-e2e');
    // The SDK reports every stdout line that is not a JSON-RPC message here.
    client.onerror = (error) => clientErrors.push(error);
    await client.connect(transport, callTimeout);
    wire = recordWire(transport);
    gatewayPid = transport.pid!;
  });

  after(async () => {
    // The server processes lead their own process groups: if a test failed before the gateway
    // stopped them, they are found here and killed.
    const leftovers = gatewayPid === undefined ? [] : await snapshotDescendants(gatewayPid);
    await client?.close();
    await killSurvivors([...spawned, ...leftovers]);
    await rm(config.dir, { recursive: true, force: true });
  });

  test('lists every server\'s tools under the server__tool namespace', async () => {
    const { tools } = await client.listTools(undefined, callTimeout);
    const names = tools.map((tool) => tool.name);
    assert.ok(names.includes('everything__echo'), names.join(', '));
    assert.ok(names.every((name) => name.startsWith('everything__')), names.join(', '));
  });

  test('calls a tool and returns its result', async () => {
    const result = await client.callTool({ name: 'everything__echo', arguments: { message: 'over stdio \u{1F600}' } }, undefined, callTimeout);
    assert.equal(textOf(result), 'Echo: over stdio \u{1F600}');
  });

  test('relays the progress of a long-running tool to the client', async () => {
    const { text, progress } = await longRunningCall(client, wire, 'everything__trigger-long-running-operation', 3);
    assert.match(text, /completed/i);
    assert.deepEqual(progress, [1, 2, 3]);
  });

  test('routes a sampling request from the server back to the client and its answer to the server', async () => {
    const result = await client.callTool({ name: 'everything__trigger-sampling-request', arguments: { prompt: 'hi', maxTokens: 5 } }, undefined, callTimeout);
    assert.match(textOf(result), /sampled by stdio-e2e/);
  });

  test('writes only JSON-RPC messages to stdout and its logs to stderr', async () => {
    // A line that is not JSON-RPC would be reported here (the SDK parses every stdout line).
    assert.deepEqual(clientErrors.filter((error) => !isSdkProgressRace(error)).map((error) => error.message), []);
    assert.ok(wire.length > 0);
    const logLines = stderrLines.filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg?: string });
    assert.ok(logLines.some((line) => line.msg === 'upstream ready'), `no "upstream ready" log on stderr:\n${stderrLines.slice(0, 20).join('\n')}`);
  });

  test('ending stdin stops the gateway and every server process it started', async () => {
    assert.ok(gatewayPid !== undefined);
    spawned = await snapshotDescendants(gatewayPid);
    assert.ok(
      spawned.some((child) => child.commandLine.includes('server-everything')),
      `expected server-everything children, found: ${spawned.map((child) => child.commandLine).join(' | ')}`,
    );
    const gateway: ProcessRecord = { pid: gatewayPid, commandLine: await commandLineOf(gatewayPid) };
    await client.close();
    // The SDK ends stdin and signals the gateway only if it has not exited 2 s later; the children
    // are the gateway's own to stop (they lead their own process groups, out of the SDK's reach).
    await waitForSurvivors([gateway, ...spawned], 20_000);
    assert.deepEqual(await survivorsOf([gateway, ...spawned]), []);
  });
});

/** Waits (bounded) until none of `records` runs any more. */
async function waitForSurvivors(records: ProcessRecord[], timeoutMs: number): Promise<void> {
  const started = Date.now();
  while ((await survivorsOf(records)).length > 0 && Date.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the legacy HTTP+SSE front (spec 2024-11-05) serves old clients', () => {
  let gateway: GatewayProcess;

  before(async () => {
    gateway = await startGateway({ servers: { everything: everythingStdio } });
  });

  after(async () => {
    await gateway?.close();
  });

  test('at /sse: lists the prefixed tools, calls one, and relays progress', async () => {
    const { client, wire } = await connect('legacy', new SSEClientTransport(new URL(`${gateway.url}/sse`)));
    try {
      const { tools } = await client.listTools(undefined, callTimeout);
      assert.ok(tools.some((tool) => tool.name === 'everything__echo'), tools.map((tool) => tool.name).join(', '));
      const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'old client' } }, undefined, callTimeout);
      assert.equal(textOf(echo), 'Echo: old client');
      const { text, progress } = await longRunningCall(client, wire, 'everything__trigger-long-running-operation', 2);
      assert.match(text, /completed/i);
      assert.deepEqual(progress, [1, 2]);
    } finally {
      await client.close();
    }
  });

  test('at /servers/everything/sse: the one server with its names unchanged', async () => {
    const { client, wire } = await connect('legacy-single', new SSEClientTransport(new URL(`${gateway.url}/servers/everything/sse`)));
    try {
      const { tools } = await client.listTools(undefined, callTimeout);
      assert.ok(tools.some((tool) => tool.name === 'echo'), tools.map((tool) => tool.name).join(', '));
      assert.ok(!tools.some((tool) => tool.name.includes('__')), tools.map((tool) => tool.name).join(', '));
      const echo = await client.callTool({ name: 'echo', arguments: { message: 'single' } }, undefined, callTimeout);
      assert.equal(textOf(echo), 'Echo: single');
      const { text, progress } = await longRunningCall(client, wire, 'trigger-long-running-operation', 2);
      assert.match(text, /completed/i);
      assert.deepEqual(progress, [1, 2]);
    } finally {
      await client.close();
    }
  });
});

describe('a legacy HTTP+SSE upstream is served at /mcp', () => {
  let upstream: HttpFixture;
  let gateway: GatewayProcess;
  let client: Client;
  let wire: JSONRPCMessage[];

  before(async () => {
    upstream = await startHttpFixture(fixturePath('everything-sse.ts'));
    assert.match(upstream.url, /\/sse$/);
    gateway = await startGateway({ servers: { legacy: { url: upstream.url, transport: 'sse' } } });
    ({ client, wire } = await connect('to-legacy', new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`))).catch((error: unknown) => {
      throw new Error(`connecting to the gateway failed: ${String(error)} (cause: ${String((error as { cause?: unknown }).cause)})\n${gatewayState(gateway)}`);
    }));
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
    await upstream?.close();
  });

  test('lists the SSE server\'s tools under its prefix', async () => {
    const { tools } = await client.listTools(undefined, callTimeout);
    const names = tools.map((tool) => tool.name);
    assert.ok(names.includes('legacy__echo'), names.join(', '));
    assert.ok(names.includes('legacy__get-sum'), names.join(', '));
  });

  test('calls the SSE server\'s tools and relays their progress', async () => {
    const echo = await client.callTool({ name: 'legacy__echo', arguments: { message: 'via sse' } }, undefined, callTimeout);
    assert.equal(textOf(echo), 'Echo: via sse');
    const sum = await client.callTool({ name: 'legacy__get-sum', arguments: { a: 20, b: 22 } }, undefined, callTimeout);
    assert.match(textOf(sum), /42/);
    const { text, progress } = await longRunningCall(client, wire, 'legacy__trigger-long-running-operation', 2);
    assert.match(text, /completed/i);
    assert.deepEqual(progress, [1, 2]);
  });

  test('/readyz reports the SSE server ready', async () => {
    const response = await fetch(`${gateway.url}/readyz`);
    const report = (await response.json()) as { servers: Record<string, { state: string }> };
    assert.equal(response.status, 200, JSON.stringify(report));
    assert.equal(report.servers.legacy?.state, 'ready');
  });
});

/** The gateway's last words, for a failure message. */
function gatewayState(gateway: GatewayProcess): string {
  const exit = gateway.child.exitCode ?? gateway.child.signalCode;
  return `gateway ${exit === null ? 'running' : `exited (${exit})`}; last logs:\n${gateway.logs.slice(-10).map((line) => JSON.stringify(line)).join('\n')}\n--- stderr ---\n${gateway.stderrTail()}`;
}



// Each test spawns its own short-lived CLI process; they run side by side.
describe('the gatehouse CLI', { concurrency: true }, () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('--help lists every command', async () => {
    const run = await runCli(['--help']);
    assert.equal(run.code, 0, run.stderr);
    for (const command of ['serve', 'stdio', 'check', 'schema', 'help']) assert.match(run.stdout, new RegExp(`^\\s+${command}\\b`, 'm'), `${command} missing:\n${run.stdout}`);
    for (const flag of ['--version', '--help']) assert.ok(run.stdout.includes(flag), `${flag} missing:\n${run.stdout}`);
  });

  test('serve --help lists every flag of serve', async () => {
    const run = await runCli(['serve', '--help']);
    assert.equal(run.code, 0, run.stderr);
    for (const flag of ['-c, --config <file>', '--host <host>', '-p, --port <port>', '--allow-unauthenticated', '--help']) {
      assert.ok(run.stdout.includes(flag), `${flag} missing:\n${run.stdout}`);
    }
  });

  test('stdio --help and check --help list their --config flag', async () => {
    for (const command of ['stdio', 'check']) {
      const run = await runCli([command, '--help']);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(run.stdout.includes('--config <file>'), `${command}:\n${run.stdout}`);
    }
  });

  test('check prints the declared servers and exits 0 for a good file', async () => {
    const file = join(dir, 'good.yaml');
    await writeFile(
      file,
      stringify({
        servers: {
          everything: everythingStdio,
          remote: { url: 'http://127.0.0.1:3001/mcp' },
          legacy: { url: 'http://127.0.0.1:3002/sse', transport: 'sse', enabled: false },
        },
        virtualServers: { basics: { tools: [{ server: 'everything', name: 'echo' }] } },
        auth: { policies: [{ who: { roles: ['reader'] }, servers: ['everything'] }] },
      }),
    );
    const run = await runCli(['check', '--config', file]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^everything\tstdio\tenabled\t.*server-everything/m);
    assert.match(run.stdout, /^remote\tstreamable-http\tenabled\thttp:\/\/127\.0\.0\.1:3001\/mcp$/m);
    assert.match(run.stdout, /^legacy\tsse\tdisabled\thttp:\/\/127\.0\.0\.1:3002\/sse$/m);
    assert.match(run.stdout, /^basics\tvirtual\tenabled\t1 tool, 0 prompt, 0 resource selector\(s\)$/m);
    assert.match(run.stdout, /ok: 3 server\(s\), 1 virtual server\(s\), 1 policy, authentication optional/);
  });

  test('check exits 1 and names the file and the path of every problem in a bad file', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, stringify({ listen: { port: 99999 }, servers: { files: { command: '' }, web: { url: 'ftp://example.com' } } }));
    const run = await runCli(['check', '--config', file]);
    assert.equal(run.code, 1, run.stdout);
    assert.ok(run.stderr.includes(file), run.stderr);
    assert.match(run.stderr, /listen\.port: .*99999/);
    assert.match(run.stderr, /servers\.files\.command/);
    assert.match(run.stderr, /servers\.web\.url/);
    assert.doesNotMatch(run.stdout, /ok:/);
  });

  test('check exits 1 and names the line of a YAML syntax error', async () => {
    const file = join(dir, 'broken.yaml');
    await writeFile(file, 'servers:\n  everything:\n    command: [unclosed\n');
    const run = await runCli(['check', '--config', file]);
    assert.equal(run.code, 1, run.stdout);
    assert.ok(run.stderr.includes(file), run.stderr);
    assert.match(run.stderr, /line \d+/);
  });

  test('serve --host 0.0.0.0 without --allow-unauthenticated refuses to start and says why', async () => {
    const file = join(dir, 'public.yaml');
    await writeFile(file, stringify({ servers: {} }));
    const run = await runCli(['serve', '--config', file, '--host', '0.0.0.0', '--port', '0']);
    assert.notEqual(run.code, 0);
    assert.equal(run.signal, null, 'it exited on its own, it was not killed');
    assert.match(run.stderr, /0\.0\.0\.0/);
    assert.match(run.stderr, /authentication/);
    assert.match(run.stderr, /--allow-unauthenticated/);
    assert.doesNotMatch(run.stdout, /gatehouse listening/);
  });
});
