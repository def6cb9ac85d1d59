// Virtual servers: a curated selection of tools, prompts and resources from several servers, served
// at /servers/<name>/mcp. What a client lists there is exactly what it can use, and anything outside
// the selection is refused exactly as a name that does not exist anywhere.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { repoRoot } from '../fixtures/spawn-fixture.js';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { textOf } from '../helpers/results.js';

const MEMORY_ENTRY = join(repoRoot, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js');

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: 'virtual-e2e', version: '1.0.0' }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** The JSON-RPC error a rejected call carried, as the client saw it. */
async function rejection(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    const { code, message } = error as { code: number; message: string };
    return { code, message };
  }
  assert.fail('the call was expected to be refused');
}

describe('virtual servers', () => {
  let gateway: GatewayProcess;
  let dataDir: string;
  let team: Client;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-virtual-'));
    gateway = await startGateway({
      servers: {
        everything: { ...everythingStdio, tags: ['demo'], isolation: 'shared' },
        memory: { command: process.execPath, args: [MEMORY_ENTRY], env: { MEMORY_FILE_PATH: join(dataDir, 'memory.jsonl') }, tags: ['kg'], isolation: 'shared' },
      },
      virtualServers: {
        team: {
          title: 'Team tools',
          description: 'Only what the team needs.',
          tools: [
            { server: 'everything', name: 'echo', as: 'say', description: 'Repeats what you say.' },
            { server: 'everything', name: 'get-s*' },
            { tag: 'kg', name: 'read_graph' },
          ],
          prompts: [{ server: 'everything', name: 'simple-prompt' }],
          resources: [{ server: 'everything', uri: 'demo://resource/static/document/arch*' }],
        },
      },
    });
    team = await connect(`${gateway.url}/servers/team/mcp`);
  });

  after(async () => {
    await team?.close();
    await gateway?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('introduces itself by its own name and title', () => {
    const info = team.getServerVersion();
    assert.equal(info?.name, 'team');
    assert.equal(info?.title, 'Team tools');
    assert.equal(team.getInstructions(), 'Only what the team needs.');
  });

  test('lists exactly the selected tools from several servers, renamed and redescribed as configured', async () => {
    const { tools } = await team.listTools();
    assert.deepEqual(tools.map((tool) => tool.name).sort(), ['get-structured-content', 'get-sum', 'read_graph', 'say']);
    const say = tools.find((tool) => tool.name === 'say')!;
    assert.equal(say.description, 'Repeats what you say.');
    assert.ok(say.inputSchema.properties && 'message' in say.inputSchema.properties, 'the schema stays the server\'s');
  });

  test('calls a renamed tool on its server under the server\'s name', async () => {
    const result = await team.callTool({ name: 'say', arguments: { message: 'through the virtual server' } });
    assert.match(textOf(result), /through the virtual server/);
    const sum = await team.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } });
    assert.match(textOf(sum), /5/);
    const graph = await team.callTool({ name: 'read_graph', arguments: {} });
    assert.equal(graph.isError ?? false, false);
  });

  test('refuses a tool outside the selection exactly as a tool that does not exist', async () => {
    const unknown = await rejection(team.callTool({ name: 'no-such-tool', arguments: {} }));
    for (const outside of ['echo', 'get-env', 'create_entities', 'everything__echo']) {
      const refused = await rejection(team.callTool({ name: outside, arguments: {} }));
      assert.equal(refused.code, unknown.code, outside);
      assert.equal(refused.message.replace(outside, 'NAME'), unknown.message.replace('no-such-tool', 'NAME'), outside);
    }
  });

  test('lists and serves only the selected prompts and resources', async () => {
    const { prompts } = await team.listPrompts();
    assert.deepEqual(prompts.map((prompt) => prompt.name), ['simple-prompt']);
    await team.getPrompt({ name: 'simple-prompt' });
    const unknownPrompt = await rejection(team.getPrompt({ name: 'no-such-prompt' }));
    const outsidePrompt = await rejection(team.getPrompt({ name: 'args-prompt', arguments: { city: 'x' } }));
    assert.equal(outsidePrompt.code, unknownPrompt.code);

    const { resources } = await team.listResources();
    assert.deepEqual(resources.map((resource) => resource.uri), ['demo://resource/static/document/architecture.md']);
    const read = await team.readResource({ uri: 'demo://resource/static/document/architecture.md' });
    assert.ok(read.contents.length > 0);
    const unknownResource = await rejection(team.readResource({ uri: 'demo://resource/static/document/nothing-here.md' }));
    const outsideResource = await rejection(team.readResource({ uri: 'demo://resource/static/document/features.md' }));
    assert.equal(outsideResource.code, unknownResource.code);
    const { resourceTemplates } = await team.listResourceTemplates();
    assert.deepEqual(resourceTemplates, []);
  });

  test('leaves the servers\' own endpoints and the aggregate endpoint whole', async () => {
    const everything = await connect(`${gateway.url}/servers/everything/mcp`);
    const aggregate = await connect(`${gateway.url}/mcp`);
    try {
      const own = (await everything.listTools()).tools.map((tool) => tool.name);
      assert.ok(own.includes('echo') && own.includes('get-env'));
      const all = (await aggregate.listTools()).tools.map((tool) => tool.name);
      assert.ok(all.includes('everything__echo') && all.includes('memory__create_entities'));
    } finally {
      await everything.close();
      await aggregate.close();
    }
  });
});

describe('virtual server configuration', () => {
  test('a virtual server may not take a server\'s name', async () => {
    await assert.rejects(
      startGateway({ servers: { everything: everythingStdio }, virtualServers: { everything: { tools: [{ name: '*' }] } } }),
      /already a server's name/,
    );
  });
});
