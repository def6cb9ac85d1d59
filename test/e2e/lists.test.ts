import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { startHttpFixture, fixturePath, type HttpFixture } from '../fixtures/spawn-fixture.js';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: 'lists', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

describe('aggregated lists', () => {
  let upstream: HttpFixture;
  let gateway: GatewayProcess;
  let client: Client;

  before(async () => {
    upstream = await startHttpFixture(fixturePath('conformance-server-modern.ts'));
    gateway = await startGateway({
      sessions: { pageSize: 5 },
      servers: { everything: everythingStdio, conf: { url: upstream.url, era: 'legacy' } },
    });
    client = await connect(`${gateway.url}/mcp`);
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
    await upstream?.close();
  });

  test('are paginated across servers with opaque cursors, every tool exactly once', async () => {
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor });
      assert.ok(page.tools.length <= 5, `page of ${page.tools.length}`);
      names.push(...page.tools.map((tool) => tool.name));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined && pages < 100);
    assert.equal(cursor, undefined);
    assert.ok(pages > 2);
    assert.equal(new Set(names).size, names.length, 'a tool appeared twice');
    assert.ok(names.some((name) => name.startsWith('everything__')));
    assert.ok(names.some((name) => name.startsWith('conf__')));
  });

  test('a cursor the gateway did not issue is -32602', async () => {
    await assert.rejects(client.listTools({ cursor: 'not-a-cursor' }), /cursor is unknown or expired/);
  });

  test("a server's list_changed is relayed to clients; new lists get new cursors, old ones finish their walk", async () => {
    const firstPage = await client.listTools();
    assert.ok(firstPage.nextCursor !== undefined);
    const changed = new Promise<void>((resolve) => client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    await client.callTool({ name: 'conf__test_trigger_tool_change', arguments: {} });
    await changed;
    // The merged list was rebuilt from the servers: its cursors are new ones.
    const rebuilt = await client.listTools();
    assert.notEqual(rebuilt.nextCursor, firstPage.nextCursor);
    // A walk begun before the change goes on through the list it started with.
    const second = await client.listTools({ cursor: firstPage.nextCursor! });
    assert.ok(second.tools.length > 0);
  });
});
