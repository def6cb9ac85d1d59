// Roles and policies: what a caller may use and what it is shown are the same thing. For several
// roles and endpoints the test lists everything and tries everything: whatever is not listed is
// refused exactly like a name that does not exist, and what is listed is served.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Registry, openSqliteStore, type Store } from '../../src/registry/index.js';
import { repoRoot } from '../fixtures/spawn-fixture.js';
import { everythingStdio, startGateway, waitFor, type GatewayProcess } from '../helpers/gateway-process.js';

const MEMORY_ENTRY = join(repoRoot, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js');

async function connect(url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'authz-e2e', version: '1.0.0' }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

/** The JSON-RPC error of a refused call, with the name replaced so that refusals can be compared. */
async function refusal(promise: Promise<unknown>, name: string): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    const { code, message } = error as { code?: number; message: string };
    return `${String(code)} ${message.split(name).join('NAME')}`;
  }
}

describe('roles and policies', () => {
  let gateway: GatewayProcess;
  let store: Store;
  let dataDir: string;
  const tokens: Record<string, string> = {};

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-authz-'));
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 0 },
      servers: {
        everything: { ...everythingStdio, isolation: 'shared' },
        memory: { command: process.execPath, args: [MEMORY_ENTRY], env: { MEMORY_FILE_PATH: join(dataDir, 'memory.jsonl') }, isolation: 'shared' },
      },
      virtualServers: { basics: { tools: [{ server: 'everything', name: 'echo' }, { server: 'everything', name: 'get-sum' }] } },
      auth: {
        required: true,
        policies: [
          { description: 'readers use the everything server\'s read tools', who: { roles: ['reader'] }, servers: ['everything'], tools: ['echo', 'get-*'], prompts: ['simple-prompt'], resources: ['demo://resource/static/**'] },
          { description: 'but never its environment', effect: 'deny', who: { roles: ['reader'] }, tools: ['get-env'] },
          { description: 'graph users read the knowledge graph', who: { roles: ['graph'] }, servers: ['memory'], tools: ['read_graph', 'search_nodes'], prompts: [], resources: [] },
          { description: 'the basics endpoint is open to every authenticated role listed here', who: { roles: ['graph'] }, servers: ['basics'] },
          { description: 'admins use everything', who: { roles: ['admin'] } },
          { description: 'the polite may echo, politely', who: { roles: ['polite'] }, servers: ['everything'], tools: ['echo'], when: "args.message.startsWith('please')" },
        ],
      },
    });
    store = await openSqliteStore(join(gateway.configFile, '..', 'data', 'gatehouse.db'));
    const registry = await Registry.open({ store, separator: '__', defaultStatus: 'approved', stdioRegistration: { enabled: false, allowedCommands: [] } });
    for (const role of ['reader', 'graph', 'admin', 'nobody', 'polite', 'late']) {
      tokens[role] = (await registry.createApiKey({ name: role, roles: [role], actor: 'test' })).token;
    }
  });

  after(async () => {
    await store?.close();
    await gateway?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('each role lists exactly what its policies allow', async () => {
    const admin = await connect(`${gateway.url}/mcp`, tokens.admin!);
    const everyTool = (await admin.listTools()).tools.map((tool) => tool.name);
    await admin.close();
    const expected: Record<string, string[]> = {
      reader: everyTool.filter((name) => /^everything__(echo|get-.*)$/.test(name) && name !== 'everything__get-env').sort(),
      graph: ['memory__read_graph', 'memory__search_nodes'],
      nobody: [],
    };
    assert.ok(expected.reader!.includes('everything__get-sum') && everyTool.includes('everything__get-env'));
    for (const [role, names] of Object.entries(expected)) {
      const client = await connect(`${gateway.url}/mcp`, tokens[role]!);
      try {
        assert.deepEqual((await client.listTools()).tools.map((tool) => tool.name).sort(), names, role);
      } finally {
        await client.close();
      }
    }
  });

  for (const endpoint of ['/mcp', '/servers/everything/mcp', '/servers/basics/mcp']) {
    test(`listing and calling agree for every role at ${endpoint}`, async () => {
      const admin = await connect(`${gateway.url}${endpoint}`, tokens.admin!);
      const everyTool = (await admin.listTools()).tools.map((tool) => tool.name);
      const everyPrompt = (await admin.listPrompts().catch(() => ({ prompts: [] }))).prompts.map((prompt) => prompt.name);
      await admin.close();
      assert.ok(everyTool.length > 0);
      for (const role of ['reader', 'graph', 'nobody']) {
        const client = await connect(`${gateway.url}${endpoint}`, tokens[role]!);
        try {
          const unknownTool = await refusal(client.callTool({ name: 'no-such-tool', arguments: {} }), 'no-such-tool');
          const listed = new Set((await client.listTools()).tools.map((tool) => tool.name));
          for (const name of everyTool) {
            if (listed.has(name)) continue;
            // Not listed: refused exactly like a name that does not exist (nothing is run).
            assert.equal(await refusal(client.callTool({ name, arguments: {} }), name), unknownTool, `${role} ${endpoint} ${name}`);
          }
          for (const name of listed) {
            if (!/echo|get-sum/.test(name)) continue;
            const result = await client.callTool({ name, arguments: name.endsWith('echo') ? { message: 'allowed' } : { a: 1, b: 2 } });
            assert.equal(result.isError ?? false, false, `${role} ${endpoint} ${name}`);
          }
          const unknownPrompt = await refusal(client.getPrompt({ name: 'no-such-prompt' }), 'no-such-prompt');
          const listedPrompts = new Set((await client.listPrompts().catch(() => ({ prompts: [] }))).prompts.map((prompt) => prompt.name));
          for (const name of everyPrompt) {
            if (!listedPrompts.has(name)) assert.equal(await refusal(client.getPrompt({ name }), name), unknownPrompt, `${role} ${endpoint} prompt ${name}`);
          }
        } finally {
          await client.close();
        }
      }
    });
  }

  test('resources outside a caller\'s policies cannot be read, even by a URI it guessed', async () => {
    const reader = await connect(`${gateway.url}/servers/everything/mcp`, tokens.reader!);
    try {
      const { resources } = await reader.listResources();
      assert.ok(resources.length > 0 && resources.every((resource) => resource.uri.startsWith('demo://resource/static/')));
      assert.ok((await reader.readResource({ uri: resources[0]!.uri })).contents.length > 0);
      await assert.rejects(reader.readResource({ uri: 'demo://resource/dynamic/text/1' }), /No resource|-32002/);
    } finally {
      await reader.close();
    }
  });

  test('a condition on the arguments lets some calls of a listed tool through and refuses the others', async () => {
    const polite = await connect(`${gateway.url}/mcp`, tokens.polite!);
    try {
      assert.deepEqual((await polite.listTools()).tools.map((tool) => tool.name), ['everything__echo']);
      const allowed = await polite.callTool({ name: 'everything__echo', arguments: { message: 'please echo' } });
      assert.match(JSON.stringify(allowed.content), /please echo/);
      await assert.rejects(polite.callTool({ name: 'everything__echo', arguments: { message: 'echo now' } }), /policy does not allow this call/);
    } finally {
      await polite.close();
    }
  });

  test('a policy added through the admin API applies to a connected client at once', async () => {
    const late = await connect(`${gateway.url}/mcp`, tokens.late!);
    let listChanged = 0;
    late.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      listChanged += 1;
    });
    try {
      assert.deepEqual((await late.listTools()).tools, []);
      const created = await fetch(`${gateway.url}/admin/api/v1/policies`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.admin!}`, 'content-type': 'application/json' },
        body: JSON.stringify({ who: { roles: ['late'] }, servers: ['everything'], tools: ['echo'] }),
      });
      assert.equal(created.status, 201, await created.clone().text());
      await waitFor(() => listChanged > 0, 30_000, 'tools/list_changed after the new policy');
      assert.deepEqual((await late.listTools()).tools.map((tool) => tool.name), ['everything__echo']);
      const result = await late.callTool({ name: 'everything__echo', arguments: { message: 'let in' } });
      assert.match(JSON.stringify(result.content), /let in/);
    } finally {
      await late.close();
    }
  });
});
