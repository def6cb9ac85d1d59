import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { rawRequest, type RawReply } from '../helpers/raw-http.js';

const JSON_AND_SSE = 'application/json, text/event-stream';

describe('bad input is answered cleanly and the gateway stays healthy', () => {
  let gateway: GatewayProcess;
  let mcp: string;
  let sessionId: string;

  const post = (body: string | Buffer, headers: Record<string, string> = {}): Promise<RawReply> =>
    rawRequest(mcp, { body, headers: { 'content-type': 'application/json', accept: JSON_AND_SSE, 'mcp-session-id': sessionId, ...headers } });

  before(async () => {
    gateway = await startGateway({ servers: { everything: everythingStdio }, limits: { maxBodyBytes: 65536, maxDepth: 32 } });
    mcp = `${gateway.url}/mcp`;
    const init = await rawRequest(mcp, {
      headers: { 'content-type': 'application/json', accept: JSON_AND_SSE },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
    });
    assert.equal(init.status, 200);
    sessionId = String(init.headers['mcp-session-id']);
    assert.ok(sessionId.length >= 22, 'session id carries at least 128 bits');
    await post(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  });

  after(async () => {
    // Whatever came before, the gateway still answers.
    const health = await rawRequest(`${gateway.url}/healthz`, { method: 'GET' });
    assert.equal(health.status, 200);
    const ping = await post(JSON.stringify({ jsonrpc: '2.0', id: 'still-alive', method: 'ping' }));
    assert.equal(ping.status, 200);
    assert.deepEqual(JSON.parse(ping.body), { jsonrpc: '2.0', id: 'still-alive', result: {} });
    await gateway.close();
  });

  test('malformed JSON is HTTP 400 with -32700', async () => {
    const reply = await post('{"jsonrpc": "2.0", "id": 1, "method": ');
    assert.equal(reply.status, 400);
    assert.equal(JSON.parse(reply.body).error.code, -32700);
  });

  for (const body of ['{}', 'null', '42', '"text"', '{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', '{"jsonrpc":"1.0","id":1,"method":"ping"}']) {
    test(`valid JSON that is not JSON-RPC (${body}) is HTTP 400 with -32600`, async () => {
      const reply = await post(body);
      assert.equal(reply.status, 400);
      assert.equal(JSON.parse(reply.body).error.code, -32600);
    });
  }

  for (const method of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
    test(`method "${method}" is -32601`, async () => {
      const reply = await post(JSON.stringify({ jsonrpc: '2.0', id: 7, method }));
      assert.equal(reply.status, 200);
      assert.equal(JSON.parse(reply.body).error.code, -32601);
    });
  }

  test('a body over the size limit is 413 without the rest being read', async () => {
    const reply = await post(Buffer.alloc(200_000, 0x20));
    assert.equal(reply.status, 413);
  });

  test('a 200 000-deep array is refused as too deep, not parsed', async () => {
    const reply = await post(`${'['.repeat(200_000)}${']'.repeat(200_000)}`, {});
    // Over the body limit here too; with a larger limit the depth check answers (next test).
    assert.ok(reply.status === 413 || reply.status === 400);
    const deepParams = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x', arguments: { a: JSON.parse(`${'['.repeat(40)}${']'.repeat(40)}`) } } });
    const deep = await post(deepParams);
    assert.equal(deep.status, 400);
    assert.equal(JSON.parse(deep.body).error.data.reason, 'too_deep');
  });

  test('an unknown session id is 404 on POST, GET and DELETE', async () => {
    const headers = { 'mcp-session-id': 'not-a-session' };
    assert.equal((await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }), headers)).status, 404);
    assert.equal((await rawRequest(mcp, { method: 'GET', headers: { ...headers, accept: 'text/event-stream' } })).status, 404);
    assert.equal((await rawRequest(mcp, { method: 'DELETE', headers })).status, 404);
  });

  test('a missing session id on a non-initialize request is 400', async () => {
    const reply = await rawRequest(mcp, { headers: { 'content-type': 'application/json', accept: JSON_AND_SSE }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }) });
    assert.equal(reply.status, 400);
  });

  test('a wrong content type is 415 and a missing Accept is 406', async () => {
    assert.equal((await post('{}', { 'content-type': 'text/plain' })).status, 415);
    const noAccept = await rawRequest(mcp, { headers: { 'content-type': 'application/json', 'mcp-session-id': sessionId }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
    assert.equal(noAccept.status, 406);
  });

  test('batches are refused on a 2025-11-25 session, an empty batch always', async () => {
    const batch = await post(JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'ping' }]));
    assert.equal(batch.status, 400);
    const empty = await post('[]');
    assert.equal(empty.status, 400);
  });

  test('a 2025-03-26 session accepts a batch, but never initialize inside one', async () => {
    const init = await rawRequest(mcp, {
      headers: { 'content-type': 'application/json', accept: JSON_AND_SSE },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'old', version: '1' } } }),
    });
    const oldSession = String(init.headers['mcp-session-id']);
    assert.equal(JSON.parse(init.body).result.protocolVersion, '2025-03-26');
    const batch = await post(JSON.stringify([{ jsonrpc: '2.0', id: 'a', method: 'ping' }, { jsonrpc: '2.0', id: 'b', method: 'ping' }]), { 'mcp-session-id': oldSession });
    assert.equal(batch.status, 200);
    assert.deepEqual(JSON.parse(batch.body).map((item: { id: string }) => item.id).sort(), ['a', 'b']);
    const withInit = await post(JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }]), { 'mcp-session-id': oldSession });
    assert.equal(withInit.status, 400);
  });

  test('a foreign Origin or Host is refused with 403 (DNS rebinding)', async () => {
    assert.equal((await post('{"jsonrpc":"2.0","id":1,"method":"ping"}', { origin: 'http://evil.example' })).status, 403);
    assert.equal((await post('{"jsonrpc":"2.0","id":1,"method":"ping"}', { host: 'evil.example' })).status, 403);
    assert.equal((await post('{"jsonrpc":"2.0","id":1,"method":"ping"}', { origin: 'http://localhost:3000' })).status, 200);
  });

  test('an unsupported MCP-Protocol-Version header is 400', async () => {
    const reply = await post('{"jsonrpc":"2.0","id":1,"method":"ping"}', { 'mcp-protocol-version': '1999-01-01' });
    assert.equal(reply.status, 400);
  });

  test('CRLF and unusual unicode in ids round-trip unchanged', async () => {
    for (const id of ['a\r\nb', '\u2028\u{1F600}', 'x'.repeat(1000), 0, -5, 1.5]) {
      const reply = await post(JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' }));
      assert.deepEqual(JSON.parse(reply.body), { jsonrpc: '2.0', id, result: {} });
    }
  });

  test('no response carries a stack trace or a file path', async () => {
    const replies = await Promise.all([post('{bad'), post('[]'), post('{}'), post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: {} }))]);
    for (const reply of replies) assert.doesNotMatch(reply.body, /at .*\(|\/work\/|node_modules|\.ts:/);
  });

  test('DELETE ends the session; it is 404 afterwards', async () => {
    const init = await rawRequest(mcp, {
      headers: { 'content-type': 'application/json', accept: JSON_AND_SSE },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'd', version: '1' } } }),
    });
    const id = String(init.headers['mcp-session-id']);
    assert.equal((await rawRequest(mcp, { method: 'DELETE', headers: { 'mcp-session-id': id } })).status, 200);
    assert.equal((await post('{"jsonrpc":"2.0","id":1,"method":"ping"}', { 'mcp-session-id': id })).status, 404);
  });
});
