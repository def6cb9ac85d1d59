import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startHttpFixture, fixturePath, type HttpFixture } from '../fixtures/spawn-fixture.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { textOf } from '../helpers/results.js';

// A 2025-era client (SDK v1, a session, server-to-client requests) reaches a server through the
// gateway speaking 2026-07-28 to it: input_required rounds become requests on the client's session.
describe('a session-era client through the gateway to a server spoken to in 2026-07-28', () => {
  let upstream: HttpFixture;
  let gateway: GatewayProcess;
  let client: Client;
  const asked: string[] = [];

  before(async () => {
    upstream = await startHttpFixture(fixturePath('conformance-server-modern.ts'));
    gateway = await startGateway({ servers: { modern: { url: upstream.url, era: 'modern' } } });
    client = new Client({ name: 'legacy', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {}, roots: {} } });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(`elicit:${request.params.message}`);
      return { action: 'accept', content: { name: 'Ada', username: 'ada', color: 'blue', confirmed: true } };
    });
    client.setRequestHandler(CreateMessageRequestSchema, async () => {
      asked.push('sample');
      return { role: 'assistant', model: 'test', content: { type: 'text', text: 'a sampled answer' } };
    });
    client.setRequestHandler(ListRootsRequestSchema, async () => {
      asked.push('roots');
      return { roots: [{ uri: 'file:///work', name: 'work' }] };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/servers/modern/mcp`)));
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
    await upstream?.close();
  });

  test('learns the server with server/discover and lists its tools without resultType', async () => {
    const { tools } = await client.listTools();
    assert.ok(tools.some((tool) => tool.name === 'test_simple_text'));
    assert.ok(tools.some((tool) => tool.name === 'test_input_required_result_elicitation'));
  });

  test('calls a plain tool', async () => {
    const result = await client.callTool({ name: 'test_simple_text', arguments: {} });
    assert.ok(textOf(result).length > 0);
    assert.equal((result as { resultType?: unknown }).resultType, undefined);
  });

  test('an input_required elicitation becomes an elicitation request on the client\'s session', async () => {
    asked.length = 0;
    const result = await client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} });
    assert.equal(asked.filter((entry) => entry.startsWith('elicit:')).length, 1);
    assert.match(textOf(result), /Ada/);
  });

  test('sampling and roots inputs are asked of the client and the call completes', async () => {
    asked.length = 0;
    const sampled = await client.callTool({ name: 'test_input_required_result_sampling', arguments: {} });
    assert.deepEqual(asked, ['sample']);
    assert.ok(textOf(sampled).length > 0);
    asked.length = 0;
    const roots = await client.callTool({ name: 'test_input_required_result_list_roots', arguments: {} });
    assert.deepEqual(asked, ['roots']);
    assert.match(textOf(roots), /work/);
  });

  test('list_changed from the server\'s subscriptions/listen stream reaches the client', async () => {
    const changed = new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    await client.callTool({ name: 'test_trigger_tool_change', arguments: {} });
    await changed;
  });

  test('several rounds of input complete one call', async () => {
    asked.length = 0;
    const result = await client.callTool({ name: 'test_input_required_result_multi_round', arguments: {} });
    assert.ok(asked.length >= 2, asked.join(','));
    assert.ok(textOf(result).length > 0);
  });
});

describe('a call retried after an input round still has a timeout', () => {
  let upstream: HttpFixture;
  let gateway: GatewayProcess;

  before(async () => {
    upstream = await startHttpFixture(fixturePath('conformance-server-modern.ts'));
    gateway = await startGateway({ servers: { modern: { url: upstream.url, era: 'modern', requestTimeoutMs: 2_000 } } });
  });

  after(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  test('a server that stalls on the retry is timed out by the gateway, not waited for forever', async () => {
    const client = new Client({ name: 'legacy', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    let asked = 0;
    client.setRequestHandler(ElicitRequestSchema, async () => {
      asked++;
      return { action: 'accept', content: { name: 'Ada' } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/servers/modern/mcp`)));
    try {
      // The client's own limit is far above the gateway's 2 s: only the gateway can end this call in time.
      const outcome = await client.callTool({ name: 'gatehouse_input_then_stall', arguments: {} }, undefined, { timeout: 60_000 }).then(
        (result) => textOf(result),
        (error: unknown) => String(error),
      );
      assert.equal(asked, 1);
      assert.match(outcome, /did not answer within 2000 ms/);
    } finally {
      await client.close();
    }
  });
});

describe('a 2026-07-28 client through the gateway to a server spoken to in 2026-07-28', () => {
  let upstream: HttpFixture;
  let gateway: GatewayProcess;

  before(async () => {
    upstream = await startHttpFixture(fixturePath('conformance-server-modern.ts'));
    gateway = await startGateway({ servers: { modern: { url: upstream.url, era: 'modern' } } });
  });

  after(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  test('input_required crosses the gateway in both directions and the call completes', async () => {
    const { Client: ModernClient, StreamableHTTPClientTransport: ModernTransport } = await import('@modelcontextprotocol/client');
    const client = new ModernClient(
      { name: 'modern', version: '1.0.0' },
      { capabilities: { elicitation: {} }, versionNegotiation: { mode: { pin: '2026-07-28' } } },
    );
    let asked = 0;
    client.setRequestHandler('elicitation/create', async () => {
      asked++;
      return { action: 'accept', content: { name: 'Grace', username: 'grace', color: 'green', confirmed: true } };
    });
    await client.connect(new ModernTransport(new URL(`${gateway.url}/servers/modern/mcp`)));
    try {
      const result = await client.callTool({ name: 'test_input_required_result_elicitation', arguments: {} });
      assert.equal(asked, 1);
      assert.match(textOf(result), /Grace/);
    } finally {
      await client.close();
    }
  });
});
