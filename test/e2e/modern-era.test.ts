import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startHttpFixture, fixturePath, type HttpFixture } from '../fixtures/spawn-fixture.js';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { textOf } from '../helpers/results.js';

const MODERN = '2026-07-28';

/** An SDK v2 client pinned to the stateless 2026-07-28 revision. */
async function modernClient(url: string, name = 'modern'): Promise<Client> {
  const client = new Client(
    { name, version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: {} }, versionNegotiation: { mode: { pin: MODERN } } },
  );
  client.setRequestHandler('sampling/createMessage', async () => ({
    role: 'assistant',
    model: `model-of-${name}`,
    content: { type: 'text', text: `sampled by ${name}` },
  }));
  client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: `elicited by ${name}` } }));
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

async function rawPost(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const envelope = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

for (const upstreamKind of ['stdio', 'streamable-http'] as const) {
  describe(`a 2026-07-28 client through the gateway to a session-based server over ${upstreamKind}`, () => {
    let gateway: GatewayProcess;
    let upstream: HttpFixture | undefined;
    let client: Client;

    before(async () => {
      let server: Record<string, unknown> = { ...everythingStdio, isolation: 'shared' };
      if (upstreamKind === 'streamable-http') {
        upstream = await startHttpFixture(fixturePath('everything-http.ts'));
        server = { url: upstream.url };
      }
      gateway = await startGateway({ servers: { everything: server } });
      client = await modernClient(`${gateway.url}/mcp`);
    });

    after(async () => {
      await client?.close();
      await gateway?.close();
      await upstream?.close();
    });

    test('negotiates 2026-07-28 with server/discover and lists tools with the modern result shape', async () => {
      const { tools } = await client.listTools();
      assert.ok(tools.some((tool) => tool.name === 'everything__echo'));
      const raw = await rawPost(`${gateway.url}/mcp`, { jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: envelope } }, {
        'mcp-protocol-version': MODERN,
        'mcp-method': 'tools/list',
      });
      const result = raw.json.result as Record<string, unknown>;
      assert.equal(result.resultType, 'complete');
      assert.equal(typeof result.ttlMs, 'number');
      assert.ok(result.cacheScope === 'private' || result.cacheScope === 'public');
    });

    test('calls a tool without any session', async () => {
      const result = await client.callTool({ name: 'everything__echo', arguments: { message: 'stateless' } });
      assert.equal(textOf(result), 'Echo: stateless');
    });

    test('turns the server\'s sampling request into input_required and the retry into its answer', async () => {
      const result = await client.callTool({ name: 'everything__trigger-sampling-request', arguments: { prompt: 'hi', maxTokens: 5 } });
      assert.match(textOf(result), /sampled by modern/);
    });

    test('turns an elicitation request into input_required and back', async () => {
      const result = await client.callTool({ name: 'everything__trigger-elicitation-request', arguments: {} });
      assert.match(JSON.stringify(result), /elicited by modern/);
    });

    test('relays progress on the request\'s own stream', async () => {
      const updates: number[] = [];
      const result = await client.callTool(
        { name: 'everything__trigger-long-running-operation', arguments: { duration: 1, steps: 2 } },
        { onprogress: (progress: { progress: number }) => updates.push(progress.progress) },
      );
      assert.match(textOf(result), /completed/i);
      assert.deepEqual(updates, [1, 2]);
    });

    test('refuses a request whose headers disagree with its body (-32020) and removed methods (404 / -32601)', async () => {
      const mismatch = await rawPost(`${gateway.url}/mcp`, { jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: envelope } }, {
        'mcp-protocol-version': MODERN,
        'mcp-method': 'prompts/list',
      });
      assert.equal(mismatch.status, 400);
      assert.equal((mismatch.json.error as { code: number }).code, -32020);
      const ping = await rawPost(`${gateway.url}/mcp`, { jsonrpc: '2.0', id: 3, method: 'ping', params: { _meta: envelope } }, {
        'mcp-protocol-version': MODERN,
        'mcp-method': 'ping',
      });
      assert.equal(ping.status, 404);
      assert.equal((ping.json.error as { code: number }).code, -32601);
      const unsupported = await rawPost(
        `${gateway.url}/mcp`,
        { jsonrpc: '2.0', id: 4, method: 'tools/list', params: { _meta: { ...envelope, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } } },
        { 'mcp-protocol-version': '2099-01-01', 'mcp-method': 'tools/list' },
      );
      assert.equal(unsupported.status, 400);
      assert.equal((unsupported.json.error as { code: number }).code, -32022);
      const noEnvelope = await rawPost(`${gateway.url}/mcp`, { jsonrpc: '2.0', id: 5, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } } }, {
        'mcp-protocol-version': MODERN,
        'mcp-method': 'tools/list',
      });
      assert.equal(noEnvelope.status, 400);
      assert.equal((noEnvelope.json.error as { code: number }).code, -32602);
    });

    test('an unknown requestState is refused, not guessed', async () => {
      const raw = await rawPost(
        `${gateway.url}/mcp`,
        { jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'everything__echo', arguments: { message: 'x' }, requestState: 'forged', inputResponses: {}, _meta: envelope } },
        { 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/call', 'mcp-name': 'everything__echo' },
      );
      assert.equal((raw.json.error as { code: number }).code, -32602);
    });

    test('a session-era client on the same endpoint is unaffected', async () => {
      const legacy = await rawPost(`${gateway.url}/mcp`, {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'old', version: '1' } },
      });
      assert.equal(legacy.status, 200);
      assert.equal((legacy.json.result as { protocolVersion: string }).protocolVersion, '2025-11-25');
    });
  });
}

describe('a 2026-07-28 client through the stdio front (gatehouse stdio)', () => {
  test('discovers, lists, calls, and gets sampling through input_required, over stdin/stdout', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { StdioClientTransport, getDefaultEnvironment } = await import('@modelcontextprotocol/client/stdio');
    const { stringify } = await import('yaml');
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-modern-stdio-'));
    const config = join(dir, 'gatehouse.yaml');
    await writeFile(config, stringify({ log: { level: 'warn' }, servers: { everything: everythingStdio } }));
    const client = new Client(
      { name: 'modern-stdio', version: '1.0.0' },
      { capabilities: { sampling: {} }, versionNegotiation: { mode: { pin: MODERN } } },
    );
    client.setRequestHandler('sampling/createMessage', async () => ({
      role: 'assistant',
      model: 'stdio-model',
      content: { type: 'text', text: 'sampled over stdio' },
    }));
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: ['--import', 'tsx', 'src/cli/main.ts', 'stdio', '--config', config],
        stderr: 'ignore',
        // The SDK passes only a few variables on; the store choice of the test run (memory: on Node 22) must reach the gateway.
        ...(process.env.GATEHOUSE_STORE !== undefined ? { env: { ...getDefaultEnvironment(), GATEHOUSE_STORE: process.env.GATEHOUSE_STORE } } : {}),
      }),
    );
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.some((tool) => tool.name === 'everything__echo'));
      const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'over stdio' } });
      assert.equal(textOf(echo), 'Echo: over stdio');
      const sampled = await client.callTool({ name: 'everything__trigger-sampling-request', arguments: { prompt: 'p', maxTokens: 5 } });
      assert.match(textOf(sampled), /sampled over stdio/);
    } finally {
      await client.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
