import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';

const JSON_AND_SSE = 'application/json, text/event-stream';

/** Opens a session at `revision` with raw HTTP and returns a function that calls one method. */
async function sessionAt(mcp: string, revision: string): Promise<(method: string, params?: object) => Promise<Record<string, unknown>>> {
  const init = await fetch(mcp, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: JSON_AND_SSE },
    body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: revision, capabilities: {}, clientInfo: { name: 'old', version: '1' } } }),
  });
  const initBody = (await init.json()) as { result: { protocolVersion: string } };
  assert.equal(initBody.result.protocolVersion, revision);
  const session = init.headers.get('mcp-session-id')!;
  const headers = { 'content-type': 'application/json', accept: JSON_AND_SSE, 'mcp-session-id': session, 'mcp-protocol-version': revision };
  await fetch(mcp, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) }).then((r) => r.arrayBuffer());
  let id = 1;
  return async (method, params) => {
    const response = await fetch(mcp, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: id++, method, params }) });
    const text = await response.text();
    // A reply may come as SSE when the server sent something first; take the response event.
    const json = response.headers.get('content-type')?.includes('text/event-stream')
      ? text.split('\n').filter((line) => line.startsWith('data: ') && line.includes('"result"')).map((line) => JSON.parse(line.slice(6)))[0]
      : JSON.parse(text);
    return json as Record<string, unknown>;
  };
}

describe('clients of older session-era revisions reach a 2025-11-25 server', () => {
  let gateway: GatewayProcess;

  before(async () => {
    gateway = await startGateway({ servers: { everything: everythingStdio } });
  });

  after(async () => {
    await gateway?.close();
  });

  for (const revision of ['2024-11-05', '2025-03-26'] as const) {
    test(`a ${revision} client gets resource links as text it can parse`, async () => {
      const call = await sessionAt(`${gateway.url}/mcp`, revision);
      const reply = await call('tools/call', { name: 'everything__get-resource-links', arguments: { count: 2 } });
      const content = (reply.result as { content: { type: string; text?: string }[] }).content;
      assert.ok(content.length >= 3, JSON.stringify(reply));
      assert.ok(content.every((block) => block.type === 'text'), JSON.stringify(content));
      assert.ok(content.some((block) => block.text?.startsWith('Resource link:')));
    });
  }

  test('a 2025-06-18 client gets resource links unchanged', async () => {
    const call = await sessionAt(`${gateway.url}/mcp`, '2025-06-18');
    const reply = await call('tools/call', { name: 'everything__get-resource-links', arguments: { count: 2 } });
    const content = (reply.result as { content: { type: string }[] }).content;
    assert.ok(content.some((block) => block.type === 'resource_link'), JSON.stringify(content));
  });
});
