/**
 * Behaviour of the conformance fixture's Streamable HTTP mode that the suite (0.1.16) does not
 * reach: SSE resumption with a 2025-11-25 client, and session bookkeeping. A gateway relaying the
 * fixture needs both to work at the source before it can be blamed for them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startConformanceFixture, type FixtureProcess } from './fixture-process.js';

describe('conformance fixture over Streamable HTTP', { timeout: 120_000 }, () => {
  let fixture: FixtureProcess | undefined;
  before(async () => {
    fixture = await startConformanceFixture();
  });
  after(async () => {
    await fixture?.close();
  });

  test('a tool call survives the server closing its SSE stream: the client resumes with Last-Event-ID', async () => {
    assert.ok(fixture);
    const client = new Client({ name: 'fixture-http-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(fixture.url));
    await client.connect(transport);
    try {
      // test_reconnection closes the POST stream before answering; the answer only arrives if the
      // client reconnects (after the primed `retry`) and the server replays it from its event store.
      const result = await client.callTool({ name: 'test_reconnection', arguments: {} });
      assert.deepEqual(result.content, [{ type: 'text', text: 'Reconnection test completed successfully' }]);
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  });

  test('a terminated session is gone: its id gets 404', async () => {
    assert.ok(fixture);
    const client = new Client({ name: 'fixture-http-test', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(fixture.url));
    await client.connect(transport);
    const sessionId = transport.sessionId;
    assert.ok(sessionId);
    await transport.terminateSession();
    await client.close();

    const response = await fetch(fixture.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    });
    assert.equal(response.status, 404);
    await response.body?.cancel();
  });

  test('rejects a request whose Origin is not this server (DNS rebinding)', async () => {
    assert.ok(fixture);
    const response = await fetch(fixture.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        origin: 'http://evil.example.com',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'rebinding', version: '1' } },
      }),
    });
    assert.equal(response.status, 403);
    await response.body?.cancel();
  });
});
