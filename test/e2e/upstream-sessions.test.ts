// An HTTP upstream that restarts forgets every session; the gateway notices (spec 2025-11-25
// §Session Management: 404 for an unknown Mcp-Session-Id), initializes a new upstream session and
// carries on, so the client never sees the restart where repeating a call is safe.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { catalogueTools } from '../fixtures/bench-tools.js';
import { fixturePath, startNodeProcess, type NodeProcess } from '../fixtures/spawn-fixture.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { textOf } from '../helpers/results.js';

const callTimeout = { timeout: 60_000 };

/** A tool of bench-server that is neither read-only nor idempotent: a repeat could do harm. */
const unsafeTool = catalogueTools.find((tool) => tool.annotations?.readOnlyHint === false && tool.annotations.idempotentHint !== true)!;
// bench-server's `echo` is deliberately not annotated (the bench measures the audit intent), so the
// transparent retry is shown with one of its read-only tools.
const readOnlyTool = catalogueTools.find((tool) => tool.annotations?.readOnlyHint === true)!;

interface UpstreamKind {
  name: string;
  args: readonly string[];
}

// bench-server answers an unknown session id with 404, as the spec says, in both reply styles.
const kinds: UpstreamKind[] = [
  { name: 'replies on SSE streams', args: [] },
  { name: 'replies as plain JSON', args: ['--json-response'] },
];

for (const kind of kinds) {
  describe(`an HTTP upstream that restarts and forgets its sessions (${kind.name})`, () => {
    let upstream: NodeProcess;
    let gateway: GatewayProcess;
    let client: Client;

    const startUpstream = (port: string): Promise<NodeProcess> =>
      startNodeProcess({ script: fixturePath('bench-server.ts'), args: ['--http', '--port', port, ...kind.args] });

    /** Stops the upstream and starts a new one, with no memory of any session, on the same port. */
    async function restartUpstream(): Promise<void> {
      const { url } = upstream;
      await upstream.close();
      upstream = await startUpstream(new URL(url).port);
      assert.equal(upstream.url, url);
    }

    /** Sessions the upstream holds now (bench-server's GET /stats). */
    async function upstreamSessions(): Promise<number> {
      const response = await fetch(new URL('/stats', upstream.url));
      return ((await response.json()) as { sessions: number }).sessions;
    }

    before(async () => {
      upstream = await startUpstream('0');
      gateway = await startGateway({ servers: { bench: { url: upstream.url } } });
      client = new Client({ name: 'restart-e2e', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)), callTimeout);
      // This client's upstream session exists before the restart.
      const echo = await client.callTool({ name: 'bench__echo', arguments: { text: 'before' } }, undefined, callTimeout);
      assert.equal(textOf(echo), 'before');
    });

    after(async () => {
      await client?.close();
      await gateway?.close();
      await upstream?.close();
    });

    test('after the restart, tools/list and a read-only tool call work without the client seeing an error', async () => {
      await restartUpstream();
      assert.equal(await upstreamSessions(), 0, 'the new upstream starts with no sessions');

      const { tools } = await client.listTools(undefined, callTimeout);
      assert.ok(tools.some((tool) => tool.name === 'bench__echo'), tools.map((tool) => tool.name).join(', '));
      assert.ok(readOnlyTool, 'bench-server has a read-only tool');
      const read = await client.callTool({ name: `bench__${readOnlyTool.name}`, arguments: {} }, undefined, callTimeout);
      assert.equal(read.isError, undefined, textOf(read));
      assert.match(textOf(read), new RegExp(`^${readOnlyTool.name} ok`));
      assert.ok((await upstreamSessions()) >= 1, 'the gateway opened a new upstream session');
    });

    test('a client session opened after the restart works too', async () => {
      const late = new Client({ name: 'late', version: '1.0.0' });
      await late.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)), callTimeout);
      try {
        const echo = await late.callTool({ name: 'bench__echo', arguments: { text: 'late' } }, undefined, callTimeout);
        assert.equal(textOf(echo), 'late');
      } finally {
        await late.close();
      }
    });

    test('a call that may not be repeated is not: the client gets a tool error saying to retry, and the retry works', async () => {
      assert.ok(unsafeTool, 'bench-server has a tool that is neither read-only nor idempotent');
      await restartUpstream();
      const name = `bench__${unsafeTool.name}`;
      const first = await client.callTool({ name, arguments: {} }, undefined, callTimeout);
      assert.equal(first.isError, true, textOf(first));
      assert.match(textOf(first), /restarted/);
      assert.match(textOf(first), /[Rr]etry/);
      const retry = await client.callTool({ name, arguments: {} }, undefined, callTimeout);
      assert.equal(retry.isError, undefined, textOf(retry));
      assert.match(textOf(retry), new RegExp(`^${unsafeTool.name} ok`));
    });

    test('/readyz still reports the server ready', async () => {
      const response = await fetch(`${gateway.url}/readyz`);
      assert.equal(response.status, 200, await response.text());
    });
  });
}

// The reference server (server-everything's streamableHttp) answers a forgotten session id with
// HTTP 400 {"error":{"code":-32000,"message":"Bad Request: No valid session ID provided"}} and no
// `id`, not with the 404 the spec asks for. A gateway in front of it should still not leave the
// client's session broken for good.
describe('server-everything, which answers a forgotten session with 400 instead of 404, restarts', () => {
  let upstream: NodeProcess;
  let gateway: GatewayProcess;
  let client: Client;

  before(async () => {
    upstream = await startNodeProcess({ script: fixturePath('everything-http.ts'), args: ['--http', '--port', '0'] });
    gateway = await startGateway({ servers: { everything: { url: upstream.url } } });
    client = new Client({ name: 'restart-everything', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)), callTimeout);
    const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'before' } }, undefined, callTimeout);
    assert.equal(textOf(echo), 'Echo: before');
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
    await upstream?.close();
  });

  test(
    'the client\'s session recovers: a read-only call after the restart works',
    async () => {
      const { url } = upstream;
      await upstream.close();
      upstream = await startNodeProcess({ script: fixturePath('everything-http.ts'), args: ['--http', '--port', new URL(url).port] });
      const { tools } = await client.listTools(undefined, callTimeout);
      assert.ok(tools.some((tool) => tool.name === 'everything__echo'));
      // One failed call would be tolerable; the session must work again by the second.
      await client.callTool({ name: 'everything__echo', arguments: { message: 'after' } }, undefined, callTimeout);
      const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'after, again' } }, undefined, callTimeout);
      assert.equal(echo.isError, undefined, textOf(echo));
      assert.equal(textOf(echo), 'Echo: after, again');
    },
  );
});
