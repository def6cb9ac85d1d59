// Two gateway processes sharing one registry in a real PostgreSQL: a server registered through one
// replica's admin API reaches a client connected to the other (list_changed, then callable), and its
// removal does too. Replicas notice each other's changes by polling the store's revision.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { fixturePath, startHttpFixture, type HttpFixture } from '../fixtures/spawn-fixture.js';
import { startGateway, waitFor, type GatewayProcess } from '../helpers/gateway-process.js';
import { postgresSkipReason, startPostgres, type PostgresServer } from '../helpers/postgres.js';

describe('replicas sharing a PostgreSQL registry', { skip: postgresSkipReason() ?? false }, () => {
  let postgres: PostgresServer;
  let upstream: HttpFixture;
  let first: GatewayProcess;
  let second: GatewayProcess;
  let client: Client;
  let listChanged = 0;

  before(async () => {
    postgres = await startPostgres();
    const url = await postgres.newDatabase();
    upstream = await startHttpFixture(fixturePath('everything-http.ts'));
    const config = { store: { url }, registry: { pollIntervalMs: 200, healthCheckIntervalMs: 0 } };
    // One after the other: the second finds the schema the first migrated.
    first = await startGateway(config);
    second = await startGateway(config);
    client = new Client({ name: 'replica-e2e', version: '1.0.0' }, { capabilities: {} });
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      listChanged += 1;
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${second.url}/mcp`)));
  });

  after(async () => {
    await client?.close();
    await first?.close();
    await second?.close();
    await upstream?.close();
    await postgres?.stop();
  });

  test('a server registered on one replica is announced to and callable from a client of the other', async () => {
    assert.deepEqual((await client.listTools()).tools, []);
    const response = await fetch(`${first.url}/admin/api/v1/servers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'shared', url: upstream.url, tags: ['replicated'] }),
    });
    assert.equal(response.status, 201, await response.clone().text());
    await waitFor(() => listChanged > 0, 30_000, 'list_changed on the other replica');
    const result = await client.callTool({ name: 'shared__echo', arguments: { message: 'from the other replica' } });
    assert.match(JSON.stringify(result.content), /from the other replica/);
    const listed = await fetch(`${second.url}/admin/api/v1/servers?tag=replicated`);
    assert.deepEqual(((await listed.json()) as { items: { name: string }[] }).items.map((item) => item.name), ['shared']);
  });

  test('its removal on one replica takes it away on the other', async () => {
    const before = listChanged;
    const response = await fetch(`${first.url}/admin/api/v1/servers/shared`, { method: 'DELETE' });
    assert.equal(response.status, 204);
    await waitFor(() => listChanged > before, 30_000, 'list_changed after the removal');
    assert.deepEqual((await client.listTools()).tools, []);
  });
});
