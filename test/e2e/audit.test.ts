// The audit trail end to end (issue #7): real gateways with real upstreams, records read back through
// the admin API, the CLI and the database file; the hash chains checked after rows are changed and
// deleted behind the gateway's back; and a gateway killed with SIGKILL in the middle of a call.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import type { AuditRecordView } from '../../src/admin/index.js';
import { Registry, openSqliteStore } from '../../src/registry/index.js';
import { runCli } from '../helpers/cli.js';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';

const GITHUB_TOKEN = `ghp_${'Z9'.repeat(18)}`;

async function connect(url: string, token?: string): Promise<Client> {
  const client = new Client({ name: 'audit-e2e', version: '1.2.3' }, { capabilities: {} });
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

/** GET on the admin API with a token; the parsed body. */
async function adminGet(gateway: GatewayProcess, path: string, token: string): Promise<{ status: number; text: string; body: Record<string, unknown> }> {
  const response = await fetch(`${gateway.url}/admin/api/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  const isJson = (response.headers.get('content-type') ?? '').startsWith('application/json');
  return { status: response.status, text, body: isJson ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function records(gateway: GatewayProcess, query: string, token: string): Promise<AuditRecordView[]> {
  const reply = await adminGet(gateway, `/audit?${query}`, token);
  assert.equal(reply.status, 200, reply.text);
  return reply.body.items as AuditRecordView[];
}

/** Polls the admin API until the query returns `count` records (the writer flushes every few ms). */
async function awaitRecords(gateway: GatewayProcess, query: string, token: string, count = 1): Promise<AuditRecordView[]> {
  let found: AuditRecordView[] = [];
  const started = Date.now();
  while (found.length < count) {
    if (Date.now() - started > 30_000) assert.fail(`timed out waiting for ${count} audit record(s) matching ${query}; found ${found.length}`);
    found = await records(gateway, query, token);
    if (found.length < count) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return found;
}

describe('audit trail', () => {
  let gateway: GatewayProcess;
  let dir: string;
  let sinkFile: string;
  const tokens: Record<string, string> = {};
  const keyIds: Record<string, string> = {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-audit-e2e-'));
    sinkFile = join(dir, 'audit.jsonl');
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 0 },
      servers: { everything: { ...everythingStdio, isolation: 'shared' } },
      auth: {
        required: true,
        policies: [
          { description: 'admins use everything', who: { roles: ['admin'] } },
          { description: 'the polite may echo, politely', who: { roles: ['polite'] }, servers: ['everything'], tools: ['echo'], when: "args.message.startsWith('please')" },
        ],
      },
      audit: { queue: { flushMs: 20 }, sinks: [{ type: 'jsonl', path: sinkFile }] },
    });
    const store = await openSqliteStore(join(gateway.configFile, '..', 'data', 'gatehouse.db'));
    try {
      const registry = await Registry.open({ store, separator: '__', defaultStatus: 'approved', stdioRegistration: { enabled: false, allowedCommands: [] } });
      for (const role of ['admin', 'polite']) {
        const issued = await registry.createApiKey({ name: `${role}-bot`, roles: [role], actor: 'test' });
        tokens[role] = issued.token;
        keyIds[role] = issued.record.id;
      }
    } finally {
      await store.close();
    }
  });

  after(async () => {
    await gateway?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a tool call produces exactly one audit record with the right fields and redactions', async () => {
    const client = await connect(`${gateway.url}/mcp`, tokens.admin);
    try {
      const result = await client.callTool({ name: 'everything__echo', arguments: { message: `deploy with ${GITHUB_TOKEN} now`, api_key: 'sk-live-123', note: 'hi' } });
      assert.equal(result.isError ?? false, false);
      // A later call as a marker: records are written in order, so once it is there the echo's are too.
      await client.callTool({ name: 'everything__get-sum', arguments: { a: 1, b: 2 } });
    } finally {
      await client.close();
    }
    await awaitRecords(gateway, 'tool=get-sum', tokens.admin!);
    const echoes = await records(gateway, 'tool=echo', tokens.admin!);
    assert.equal(echoes.length, 1);
    const [record] = echoes;
    assert.ok(record !== undefined);
    assert.deepEqual(
      {
        method: record.method,
        endpoint: record.endpoint,
        server: record.server,
        name: record.name,
        subject: record.subject,
        user: record.user,
        identityKind: record.identityKind,
        keyId: record.keyId,
        clientName: record.clientName,
        clientVersion: record.clientVersion,
        outcome: record.outcome,
        errorCode: record.errorCode,
        isError: record.isError,
      },
      {
        method: 'tools/call',
        endpoint: '/mcp',
        server: 'everything',
        name: 'echo',
        subject: keyIds.admin,
        user: 'admin-bot',
        identityKind: 'api-key',
        keyId: keyIds.admin,
        clientName: 'audit-e2e',
        clientVersion: '1.2.3',
        outcome: 'ok',
        errorCode: null,
        isError: false,
      },
    );
    assert.deepEqual(JSON.parse(record.arguments ?? 'null'), { message: 'deploy with [REDACTED] now', api_key: '[REDACTED]', note: 'hi' });
    assert.ok((record.resultBytes ?? 0) > 0);
    assert.ok(record.latencyMs !== null && record.latencyMs >= 0);
    // The replica that served it: a stdio server's process.
    assert.match(record.upstream ?? '', /^pid:\d+$/);
    assert.ok(record.requestId !== null && record.sessionId !== null);
    assert.match(record.hash ?? '', /^[0-9a-f]{64}$/);
    assert.equal(new Date(record.at).toISOString(), record.at);
    // The sink got the same record, redacted the same way; no secret anywhere in it.
    const sink = await readFile(sinkFile, 'utf8');
    assert.ok(!sink.includes(GITHUB_TOKEN) && !sink.includes('sk-live-123'));
    const sunk = sink.trim().split('\n').map((line) => JSON.parse(line) as { name: string; arguments: string });
    assert.deepEqual(sunk.filter((line) => line.name === 'echo').map((line) => line.arguments), [record.arguments]);
  });

  test('a call a policy refuses is recorded as denied, with the reason', async () => {
    const client = await connect(`${gateway.url}/mcp`, tokens.polite);
    try {
      await assert.rejects(client.callTool({ name: 'everything__echo', arguments: { message: 'now!' } }));
    } finally {
      await client.close();
    }
    const [denied] = await awaitRecords(gateway, `outcome=denied&user=${keyIds.polite}`, tokens.admin!);
    assert.equal(denied?.errorCode, 'call_denied');
    assert.equal(denied?.name, 'echo');
    assert.equal(denied?.user, 'polite-bot');
    assert.deepEqual(JSON.parse(denied?.arguments ?? 'null'), { message: 'now!' });
  });

  test('the admin API pages and exports JSON lines, and the CLI searches the same records', async () => {
    const all = await records(gateway, 'limit=100&order=asc', tokens.admin!);
    assert.ok(all.length >= 3);
    const firstPage = await adminGet(gateway, '/audit?limit=1', tokens.admin!);
    assert.equal((firstPage.body.items as unknown[]).length, 1);
    const secondPage = await records(gateway, `limit=1&cursor=${String(firstPage.body.next)}`, tokens.admin!);
    assert.ok((secondPage[0]?.id ?? Infinity) < ((firstPage.body.items as AuditRecordView[])[0]?.id ?? 0));

    const exported = await adminGet(gateway, '/audit?server=everything&format=jsonl', tokens.admin!);
    assert.match(exported.text, /^\{"id":/);
    assert.equal(exported.status, 200);
    const lines = exported.text.trim().split('\n').map((line) => JSON.parse(line) as AuditRecordView);
    assert.deepEqual(lines.map((line) => line.id), all.filter((record) => record.server === 'everything').map((record) => record.id));

    const refused = await fetch(`${gateway.url}/admin/api/v1/audit`, { headers: { authorization: `Bearer ${tokens.polite}` } });
    assert.equal(refused.status, 403);

    const env = { GATEHOUSE_URL: gateway.url, GATEHOUSE_TOKEN: tokens.admin };
    const search = await runCli(['audit', 'search', '--tool', 'echo', '--json'], env);
    assert.equal(search.code, 0, search.stderr);
    const found = search.stdout.trim().split('\n').map((line) => JSON.parse(line) as AuditRecordView);
    assert.deepEqual(found.map((record) => record.id), all.filter((record) => record.name === 'echo').map((record) => record.id).reverse());
    const table = await runCli(['audit', 'search', '--user', keyIds.polite!, '--since', '1h'], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^TIME +USER +ENDPOINT +SERVER +NAME +OUTCOME +MS\n.*polite-bot +\/mcp +everything +echo +denied: call_denied /);
    const exportedByCli = await runCli(['audit', 'export', '--server', 'everything'], env);
    assert.equal(exportedByCli.code, 0, exportedByCli.stderr);
    assert.equal(exportedByCli.stdout, exported.text);
    const tail = await runCli(['audit', 'tail', '-n', '2', '--json'], env);
    assert.equal(tail.code, 0, tail.stderr);
    assert.deepEqual(tail.stdout.trim().split('\n').map((line) => (JSON.parse(line) as AuditRecordView).id), all.slice(-2).map((record) => record.id));
  });

  test('verify detects a modified row and a deleted row', async () => {
    const client = await connect(`${gateway.url}/mcp`, tokens.admin);
    try {
      for (const a of [10, 20, 30]) await client.callTool({ name: 'everything__get-sum', arguments: { a, b: 1 } });
    } finally {
      await client.close();
    }
    const sums = await awaitRecords(gateway, 'tool=get-sum&order=asc', tokens.admin!, 4);
    const clean = await runCli(['audit', 'verify', '--config', gateway.configFile]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, /ok: every chain verifies/);

    const { default: Database } = await import('better-sqlite3');
    const database = new Database(join(gateway.configFile, '..', 'data', 'gatehouse.db'));
    try {
      const [echo] = await records(gateway, 'tool=echo', tokens.admin!);
      database.prepare('update audit_records set arguments = ? where id = ?').run('{"message":"nothing to see"}', echo?.id);
      const modified = await runCli(['audit', 'verify', '--config', gateway.configFile]);
      assert.equal(modified.code, 1);
      assert.match(modified.stdout, new RegExp(`MODIFIED \\S+ seq ${echo?.seq} \\(id ${echo?.id}\\)`));

      const victim = sums[1]!;
      database.prepare('delete from audit_records where id = ?').run(victim.id);
      const deleted = await runCli(['audit', 'verify', '--config', gateway.configFile, '--json']);
      assert.equal(deleted.code, 1);
      const report = JSON.parse(deleted.stdout) as { ok: boolean; problems: { kind: string; seq: number }[] };
      assert.deepEqual(report.problems.map((problem) => [problem.kind, problem.seq]), [
        ['modified', echo?.seq],
        ['missing', victim.seq! + 1],
      ]);
      // The running gateway says the same through its API (and through the CLI pointed at it).
      const api = await adminGet(gateway, '/audit/verify', tokens.admin!);
      assert.equal(api.body.ok, false);
      const online = await runCli(['audit', 'verify'], { GATEHOUSE_URL: gateway.url, GATEHOUSE_TOKEN: tokens.admin });
      assert.equal(online.code, 1);
      assert.match(online.stdout, /MISSING/);
    } finally {
      database.close();
    }
  });
});

/** An MCP server on loopback whose `deploy` tool tells the test it was called and never answers. */
async function startSlowUpstream(onCall: () => void): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const mcp = new McpServer({ name: 'slow', version: '1.0.0' });
    mcp.registerTool('deploy', { description: 'Deploys (a side effect); answers when it is done.', inputSchema: { target: z.string(), password: z.string().optional() } }, async () => {
      onCall();
      return new Promise<never>(() => {});
    });
    const transport = new StreamableHTTPServerTransport({});
    response.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    void mcp.connect(transport).then(() => transport.handleRequest(request, response));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { url: `http://127.0.0.1:${address.port}/mcp`, server };
}

describe('audit crash safety', () => {
  test('after kill -9 during a tools/call the audit shows its intent with no outcome, and the next start records the outcome as unknown', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-audit-kill-'));
    let called: () => void = () => undefined;
    const upstreamCalled = new Promise<void>((resolve) => (called = resolve));
    const upstream = await startSlowUpstream(() => called());
    const config = { dataDir: join(dir, 'data'), registry: { healthCheckIntervalMs: 0 }, servers: { slow: { url: upstream.url } } };
    let first: GatewayProcess | undefined;
    let second: GatewayProcess | undefined;
    let client: Client | undefined;
    try {
      first = await startGateway(config);
      client = await connect(`${first.url}/mcp`);
      const call = client.callTool({ name: 'slow__deploy', arguments: { target: 'production', password: 'hunter2' } }).catch(() => undefined);
      // The upstream has the call: by the filter's contract its intent was durable before it was sent.
      await upstreamCalled;
      process.kill(first.pid, 'SIGKILL');
      const status = await first.exited;
      assert.equal(status.signal, 'SIGKILL');
      await client.close().catch(() => undefined);
      await call;

      const store = await openSqliteStore(join(dir, 'data', 'gatehouse.db'));
      try {
        const { items } = await store.audit.queryAudit({ limit: 10 });
        assert.deepEqual(
          items.map((row) => ({ method: row.method, server: row.server, name: row.name, outcome: row.outcome, seq: row.seq, latencyMs: row.latencyMs, clientName: row.clientName })),
          [{ method: 'tools/call', server: 'slow', name: 'deploy', outcome: 'pending', seq: null, latencyMs: null, clientName: 'audit-e2e' }],
        );
        assert.deepEqual(JSON.parse(items[0]?.arguments ?? 'null'), { target: 'production', password: '[REDACTED]' });
      } finally {
        await store.close();
      }

      // The same replica starting again completes what its predecessor left, as outcome unknown.
      second = await startGateway(config);
      const recovered = second.logs.find((line) => String(line.msg).startsWith('audit: calls of a previous run had no recorded outcome'));
      assert.equal(recovered?.calls, 1);
      const verify = await runCli(['audit', 'verify', '--url', second.url, '--json']);
      assert.equal(verify.code, 0, verify.stdout + verify.stderr);
      const reply = await fetch(`${second.url}/admin/api/v1/audit?server=slow`);
      const { items } = (await reply.json()) as { items: AuditRecordView[] };
      assert.deepEqual(items.map((row) => [row.name, row.outcome, row.seq]), [['deploy', 'unknown', 1]]);
    } finally {
      await client?.close().catch(() => undefined);
      await first?.close();
      await second?.close();
      upstream.server.closeAllConnections();
      upstream.server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
