// Real MCP servers from npm (server-filesystem, server-memory) behind the gateway, spoken to by the
// official SDK client, exactly as a user would run them: spawned over stdio from node_modules.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ListRootsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { repoRoot } from '../fixtures/spawn-fixture.js';
import { everythingStdio, startGateway, waitFor, type GatewayProcess } from '../helpers/gateway-process.js';
import { textOf } from '../helpers/results.js';

/** The `bin` entries of the two packages (package.json "bin" → dist/index.js). */
const FILESYSTEM_ENTRY = join(repoRoot, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');
const MEMORY_ENTRY = join(repoRoot, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js');

function filesystemServer(allowedDir: string): Record<string, unknown> {
  return { command: process.execPath, args: [FILESYSTEM_ENTRY, allowedDir] };
}

function memoryServer(memoryFile: string): Record<string, unknown> {
  // server-memory reads MEMORY_FILE_PATH (its README, "Environment variables"); the gateway passes only
  // a safe set of its own variables, so the server's `env` is the way to set it.
  return { command: process.execPath, args: [MEMORY_ENTRY], env: { MEMORY_FILE_PATH: memoryFile } };
}

async function connect(url: string, name = 'npm-servers'): Promise<Client> {
  // No roots capability: server-filesystem then keeps the directories given on its command line.
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

/** A temp dir with its realpath (server-filesystem compares resolved paths). */
async function tempDir(prefix: string): Promise<string> {
  return realpath(await mkdtemp(join(tmpdir(), prefix)));
}

/** Waits until the gateway has logged "upstream ready" for each server (its list process is up). */
async function allReady(gateway: GatewayProcess, servers: readonly string[]): Promise<void> {
  await waitFor(
    () => servers.every((server) => gateway.logs.some((line) => line.msg === 'upstream ready' && line.server === server)),
    60_000,
    `upstream ready for ${servers.join(', ')}`,
  );
}

describe('server-filesystem from npm over stdio, through the gateway', () => {
  let gateway: GatewayProcess;
  let client: Client;
  let allowed: string;
  let outside: string;

  before(async () => {
    allowed = await tempDir('gatehouse-fs-allowed-');
    outside = await tempDir('gatehouse-fs-outside-');
    await writeFile(join(outside, 'secret.txt'), 'not yours');
    gateway = await startGateway({ servers: { files: filesystemServer(allowed) } });
    client = await connect(`${gateway.url}/mcp`);
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
    await rm(allowed, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  test('lists the filesystem tools under the files__ prefix', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    for (const expected of ['files__read_text_file', 'files__write_file', 'files__list_directory', 'files__list_allowed_directories']) {
      assert.ok(names.includes(expected), `${expected} missing from ${names.join(', ')}`);
    }
    assert.ok(names.every((name) => name.startsWith('files__')), names.join(', '));
    const write = tools.find((tool) => tool.name === 'files__write_file');
    assert.deepEqual(Object.keys(write?.inputSchema.properties ?? {}).sort(), ['content', 'path']);
    assert.equal(write?.annotations?.destructiveHint, true);
  });

  test('writes a file and reads it back unchanged, CRLF and unusual unicode included', async () => {
    const content = 'line one\r\nline two\r\n\u2028 separator, \u{1F600} emoji, ünïcödé, 中文, \u0301 combining\n\tend';
    const path = join(allowed, 'notes.txt');
    const written = await client.callTool({ name: 'files__write_file', arguments: { path, content } });
    assert.notEqual(written.isError, true, textOf(written));
    assert.match(textOf(written), /Successfully wrote/);
    assert.equal(await readFile(path, 'utf8'), content, 'the bytes on disk are what the client sent');

    const read = await client.callTool({ name: 'files__read_text_file', arguments: { path } });
    assert.notEqual(read.isError, true, textOf(read));
    assert.equal(textOf(read), content);
    assert.deepEqual(read.structuredContent, { content });
  });

  test('lists the directory it wrote to', async () => {
    await client.callTool({ name: 'files__write_file', arguments: { path: join(allowed, 'listed.md'), content: '# listed' } });
    await client.callTool({ name: 'files__create_directory', arguments: { path: join(allowed, 'sub') } });
    const listing = await client.callTool({ name: 'files__list_directory', arguments: { path: allowed } });
    assert.notEqual(listing.isError, true, textOf(listing));
    const lines = textOf(listing).split('\n');
    assert.ok(lines.includes('[FILE] listed.md'), textOf(listing));
    assert.ok(lines.includes('[DIR] sub'), textOf(listing));
  });

  test('a path outside the allowed directory is refused by the server as a tool error, not a gateway failure', async () => {
    const secret = join(outside, 'secret.txt');
    // The second path climbs out of the allowed directory with `..` (not normalised here: the server must).
    for (const path of [secret, `${allowed}/../${basename(outside)}/secret.txt`]) {
      const read = await client.callTool({ name: 'files__read_text_file', arguments: { path } });
      assert.equal(read.isError, true, `reading ${path} was not refused: ${textOf(read)}`);
      assert.match(textOf(read), /access denied|outside allowed/i);
      assert.doesNotMatch(textOf(read), /not yours/);
    }
    const write = await client.callTool({ name: 'files__write_file', arguments: { path: join(outside, 'planted.txt'), content: 'x' } });
    assert.equal(write.isError, true, textOf(write));
    await assert.rejects(stat(join(outside, 'planted.txt')), { code: 'ENOENT' });
    // The session is intact after the refusals.
    assert.deepEqual(await client.ping(), {});
  });

  test('serves the same server at /servers/files/mcp with its tool names unprefixed', async () => {
    const single = await connect(`${gateway.url}/servers/files/mcp`, 'single');
    try {
      const { tools } = await single.listTools();
      const names = tools.map((tool) => tool.name);
      assert.ok(names.includes('read_text_file') && names.includes('write_file'), names.join(', '));
      assert.ok(!names.some((name) => name.includes('__')), names.join(', '));
      const path = join(allowed, 'single.txt');
      const written = await single.callTool({ name: 'write_file', arguments: { path, content: 'via /servers/files/mcp\r\n' } });
      assert.notEqual(written.isError, true, textOf(written));
      const read = await single.callTool({ name: 'read_text_file', arguments: { path } });
      assert.equal(textOf(read), 'via /servers/files/mcp\r\n');
      const allowedDirs = await single.callTool({ name: 'list_allowed_directories', arguments: {} });
      assert.match(textOf(allowedDirs), new RegExp(allowed.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      await assert.rejects(single.callTool({ name: 'files__read_text_file', arguments: { path } }), /files__read_text_file/);
    } finally {
      await single.close();
    }
  });

  test('roots a client declares reach its own server process, which then serves only those', async () => {
    // server-filesystem asks for roots after initialize and replaces its directories with them.
    const rooted = new Client({ name: 'rooted', version: '1.0.0' }, { capabilities: { roots: {} } });
    let rootsAsked: () => void = () => {};
    const asked = new Promise<void>((resolve) => (rootsAsked = resolve));
    rooted.setRequestHandler(ListRootsRequestSchema, async () => {
      rootsAsked();
      return { roots: [{ uri: pathToFileURL(outside).href, name: 'outside' }] };
    });
    await rooted.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
    try {
      // The first call starts this session's server process; its roots/list goes to this client.
      await rooted.callTool({ name: 'files__list_allowed_directories', arguments: {} });
      await asked;
      // The server applies the roots after answering; wait for its state, not a fixed time.
      let listing = '';
      const deadline = Date.now() + 30_000;
      while (!listing.includes(outside) && Date.now() < deadline) {
        listing = textOf(await rooted.callTool({ name: 'files__list_allowed_directories', arguments: {} }));
      }
      assert.ok(listing.includes(outside), listing);
      const read = await rooted.callTool({ name: 'files__read_text_file', arguments: { path: join(outside, 'secret.txt') } });
      assert.equal(textOf(read), 'not yours');
      // The first client's process keeps its own directory: roots never cross sessions.
      const original = await client.callTool({ name: 'files__list_allowed_directories', arguments: {} });
      assert.ok(textOf(original).includes(allowed) && !textOf(original).includes(outside), textOf(original));
    } finally {
      await rooted.close();
    }
  });
});

interface Graph {
  entities: { name: string; entityType: string; observations: string[] }[];
  relations: { from: string; to: string; relationType: string }[];
}

describe('server-memory from npm over stdio, through the gateway', () => {
  let gateway: GatewayProcess;
  let client: Client;
  let dir: string;
  let memoryFile: string;

  before(async () => {
    dir = await tempDir('gatehouse-memory-');
    memoryFile = join(dir, 'memory.jsonl');
    gateway = await startGateway({ servers: { memory: memoryServer(memoryFile) } });
    client = await connect(`${gateway.url}/mcp`);
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('lists the knowledge-graph tools under the memory__ prefix', async () => {
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    for (const expected of ['memory__create_entities', 'memory__create_relations', 'memory__read_graph', 'memory__search_nodes']) {
      assert.ok(names.includes(expected), `${expected} missing from ${names.join(', ')}`);
    }
  });

  test('creates entities and relations, reads the graph back and searches it', async () => {
    const created = await client.callTool({
      name: 'memory__create_entities',
      arguments: {
        entities: [
          { name: 'Ada Lovelace', entityType: 'person', observations: ['wrote the first program', 'born 1815 \u{1F4DC}'] },
          { name: 'Analytical Engine', entityType: 'machine', observations: ['designed by Babbage'] },
        ],
      },
    });
    assert.notEqual(created.isError, true, textOf(created));
    const related = await client.callTool({
      name: 'memory__create_relations',
      arguments: { relations: [{ from: 'Ada Lovelace', to: 'Analytical Engine', relationType: 'programmed' }] },
    });
    assert.notEqual(related.isError, true, textOf(related));

    const graph = (await client.callTool({ name: 'memory__read_graph', arguments: {} })).structuredContent as unknown as Graph;
    assert.deepEqual(graph.entities.map((entity) => entity.name).sort(), ['Ada Lovelace', 'Analytical Engine']);
    assert.deepEqual(graph.entities.find((entity) => entity.name === 'Ada Lovelace')?.observations, ['wrote the first program', 'born 1815 \u{1F4DC}']);
    assert.deepEqual(graph.relations, [{ from: 'Ada Lovelace', to: 'Analytical Engine', relationType: 'programmed' }]);

    const found = (await client.callTool({ name: 'memory__search_nodes', arguments: { query: 'Babbage' } })).structuredContent as unknown as Graph;
    assert.deepEqual(found.entities.map((entity) => entity.name), ['Analytical Engine']);
    const none = (await client.callTool({ name: 'memory__search_nodes', arguments: { query: 'no such thing' } })).structuredContent as unknown as Graph;
    assert.deepEqual(none.entities, []);
  });

  test('the graph lives in MEMORY_FILE_PATH set through the server env, and a new session reads it back', async () => {
    const onDisk = await readFile(memoryFile, 'utf8');
    assert.match(onDisk, /"name":"Ada Lovelace"/);
    assert.match(onDisk, /"relationType":"programmed"/);
    // A second client session gets its own server process (isolation: per-session); it reads the same file.
    const other = await connect(`${gateway.url}/servers/memory/mcp`, 'other');
    try {
      const graph = (await other.callTool({ name: 'open_nodes', arguments: { names: ['Ada Lovelace'] } })).structuredContent as unknown as Graph;
      assert.deepEqual(graph.entities.map((entity) => entity.entityType), ['person']);
    } finally {
      await other.close();
    }
  });
});

describe('three npm servers behind one gateway', () => {
  let gateway: GatewayProcess;
  let client: Client;
  let allowed: string;
  let memoryDir: string;
  const servers = ['files', 'memory', 'everything'] as const;

  before(async () => {
    allowed = await tempDir('gatehouse-three-fs-');
    memoryDir = await tempDir('gatehouse-three-memory-');
    gateway = await startGateway({
      servers: { files: filesystemServer(allowed), memory: memoryServer(join(memoryDir, 'memory.jsonl')), everything: everythingStdio },
    });
    client = await connect(`${gateway.url}/mcp`);
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
    await rm(allowed, { recursive: true, force: true });
    await rm(memoryDir, { recursive: true, force: true });
  });

  test('/readyz reports all three servers ready', async () => {
    await allReady(gateway, servers);
    const response = await fetch(`${gateway.url}/readyz`);
    const report = (await response.json()) as { ready: boolean; servers: Record<string, { state: string }> };
    assert.equal(response.status, 200, JSON.stringify(report));
    assert.equal(report.ready, true);
    assert.deepEqual(Object.keys(report.servers).sort(), [...servers].sort());
    for (const server of servers) assert.equal(report.servers[server]?.state, 'ready', JSON.stringify(report));
  });

  test('the aggregated tools/list carries every server under its own prefix', async () => {
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    for (const expected of ['files__write_file', 'memory__read_graph', 'everything__echo']) {
      assert.ok(names.includes(expected), `${expected} missing from ${names.join(', ')}`);
    }
    for (const server of servers) assert.ok(names.some((name) => name.startsWith(`${server}__`)), `no ${server}__ tools`);
    assert.ok(names.every((name) => servers.some((server) => name.startsWith(`${server}__`))), names.join(', '));
    assert.equal(new Set(names).size, names.length, 'a tool is listed twice');
  });

  test('one session calls a tool of each server', async () => {
    const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'three' } });
    assert.equal(textOf(echo), 'Echo: three');
    const written = await client.callTool({ name: 'files__write_file', arguments: { path: join(allowed, 'a.txt'), content: 'three' } });
    assert.notEqual(written.isError, true, textOf(written));
    const graph = (await client.callTool({ name: 'memory__read_graph', arguments: {} })).structuredContent as unknown as Graph;
    assert.deepEqual(graph, { entities: [], relations: [] });
  });
});
