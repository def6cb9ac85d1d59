// /metrics against the real gateway process and real upstreams: the counts move as calls happen,
// label values come from bounded sets only, and the gauges follow sessions, calls and upstreams.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { configSchema } from '../../src/config/index.js';
import { GatewayMetrics } from '../../src/observability/index.js';
import { Registry, openSqliteStore, type Store } from '../../src/registry/index.js';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';

type Labels = Record<string, string>;

interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

/** The samples of a Prometheus text exposition. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const labels: Labels = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[name!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

class Scrape {
  constructor(
    readonly text: string,
    readonly samples: Sample[],
  ) {}

  /** The value of the one sample with exactly these labels (0 when there is none). */
  value(name: string, labels: Labels = {}): number {
    const found = this.samples.filter((sample) => sample.name === name && sameLabels(sample.labels, labels));
    assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
    return found[0]?.value ?? 0;
  }

  /** Every sample of a metric whose labels include these. */
  matching(name: string, labels: Labels = {}): Sample[] {
    return this.samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  }
}

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

async function scrape(url: string, token?: string): Promise<Scrape> {
  const response = await fetch(`${url}/metrics`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  assert.equal(response.status, 200, await response.clone().text());
  const text = await response.text();
  return new Scrape(text, parseExposition(text));
}

/** Scrapes until `predicate` holds: the gauges follow state the gateway changes on its own time. */
async function scrapeUntil(url: string, predicate: (scrape: Scrape) => boolean, what: string, token?: string): Promise<Scrape> {
  const started = Date.now();
  for (;;) {
    const current = await scrape(url, token);
    if (predicate(current)) return current;
    if (Date.now() - started > 60_000) assert.fail(`timed out waiting for ${what}; last scrape:\n${current.text.split('\n').filter((line) => line.startsWith('gatehouse_')).join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function connect(url: string, token?: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client({ name: 'metrics-e2e', version: '1.0.0' }, { capabilities: {} });
  const transport = new StreamableHTTPClientTransport(new URL(url), token === undefined ? {} : { requestInit: { headers: { authorization: `Bearer ${token}` } } });
  await client.connect(transport);
  return { client, transport };
}

const CALL = { method: 'tools/call', kind: 'tool' } as const;

test('metrics.path may not take or shadow a path the gateway serves (routes match by prefix)', () => {
  for (const path of ['/mcp', '/m', '/servers/x', '/admin/api', '/.well-known/x', '/oauth', 'metrics', '/a b']) {
    assert.equal(configSchema.safeParse({ metrics: { path } }).success, false, path);
  }
  for (const path of ['/metrics', '/internal/metrics', '/prom']) assert.equal(configSchema.safeParse({ metrics: { path } }).success, true, path);
});

test('the request histogram counts each value in the first bucket that holds it, cumulatively, with the caller labels asked for', async () => {
  const metrics = new GatewayMetrics({ defaultMetrics: false, callerLabels: ['team', 'key', 'user'], version: 'test', sessions: () => [], upstreams: () => [] });
  const caller = { kind: 'api-key', subject: 'k123', team: 'payments' };
  for (const seconds of [0.0005, 0.003, 0.005, 200]) {
    metrics.requestStarted();
    metrics.requestFinished('tools/call', 'files', 'tool', 'read', 'ok', caller, seconds);
  }
  metrics.requestStarted();
  metrics.requestFinished('tools/call', 'files', 'tool', 'read', 'ok', { kind: 'anonymous', subject: 'anonymous' }, 0.2);
  metrics.requestStarted();
  const { body } = await metrics.exposition();
  const scrape = new Scrape(body, parseExposition(body));
  const labels = { server: 'files', kind: 'tool', name: 'read', method: 'tools/call', outcome: 'ok', team: 'payments', key: 'k123', user: 'k123' };
  const bucket = (le: string): number => scrape.value('gatehouse_request_duration_seconds_bucket', { ...labels, le });
  assert.deepEqual(['0.001', '0.0025', '0.005', '0.01', '120', '+Inf'].map(bucket), [1, 1, 3, 3, 3, 4]);
  assert.equal(scrape.value('gatehouse_request_duration_seconds_count', labels), 4);
  assert.ok(Math.abs(scrape.value('gatehouse_request_duration_seconds_sum', labels) - 200.0085) < 1e-9);
  assert.equal(scrape.value('gatehouse_requests_total', labels), 4);
  assert.equal(scrape.value('gatehouse_requests_total', { ...labels, team: '', key: '', user: '' }), 1, 'an anonymous caller has empty caller labels');
  assert.equal(scrape.value('gatehouse_inflight_requests'), 1);
});

describe('metrics of a gateway without authentication', () => {
  let gateway: GatewayProcess;
  let client: Client;
  let dir: string;
  let dieMarker: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-metrics-'));
    dieMarker = join(dir, 'stay-down');
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 0 },
      admin: { listen: { port: 0 } },
      upstreamDefaults: { restartBackoffMs: 100, listTimeoutMs: 2_000 },
      servers: {
        everything: { ...everythingStdio, isolation: 'shared' },
        // Starts normally; once the marker file exists, every restart fails, so after a crash it stays down.
        dies: {
          command: 'sh',
          args: ['-c', `if [ -e "${dieMarker}" ]; then exit 1; fi; exec "${process.execPath}" --import tsx test/fixtures/crash-server.ts --stdio`],
          isolation: 'shared',
        },
        hang: { command: process.execPath, args: ['--import', 'tsx', 'test/fixtures/hang-server.ts', '--stdio'], isolation: 'shared' },
      },
    });
    ({ client } = await connect(`${gateway.url}/mcp`));
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('serves the Prometheus text format with the gateway\'s metrics and the process ones', async () => {
    const response = await fetch(`${gateway.url}/metrics`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    for (const name of ['gatehouse_requests_total', 'gatehouse_request_duration_seconds', 'gatehouse_sessions', 'gatehouse_upstream_up', 'gatehouse_audit_queue_depth', 'process_cpu_seconds_total']) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'));
    }
    assert.equal(new Scrape(text, parseExposition(text)).value('gatehouse_audit_dropped_total'), 0);
    assert.equal((await fetch(`${gateway.url}/metrics`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${gateway.url}/metricsz`)).status, 404);
  });

  test('the admin listener serves the same metrics', async () => {
    const admin = gateway.logs.find((line) => line.msg === 'gatehouse listening')?.admin;
    assert.ok(typeof admin === 'string' && admin !== gateway.url, `admin listener: ${String(admin)}`);
    const response = await fetch(`${admin}/metrics`);
    assert.equal(response.status, 200);
    assert.match(await response.text(), /^gatehouse_upstream_up\{server="everything"\} /m);
  });

  test('a successful call counts once as ok for its server and tool, with its latency', async () => {
    const labels = { server: 'everything', name: 'echo', outcome: 'ok', ...CALL };
    const before = await scrape(gateway.url);
    const result = await client.callTool({ name: 'everything__echo', arguments: { message: 'counted' } });
    assert.notEqual(result.isError, true);
    const afterCall = await scrape(gateway.url);
    assert.equal(afterCall.value('gatehouse_requests_total', labels) - before.value('gatehouse_requests_total', labels), 1);
    assert.equal(afterCall.value('gatehouse_request_duration_seconds_count', labels) - before.value('gatehouse_request_duration_seconds_count', labels), 1);
    assert.ok(afterCall.value('gatehouse_request_duration_seconds_sum', labels) > before.value('gatehouse_request_duration_seconds_sum', labels));
    assert.equal(afterCall.value('gatehouse_request_duration_seconds_bucket', { ...labels, le: '+Inf' }), afterCall.value('gatehouse_requests_total', labels));
  });

  test('a call to an unknown tool counts as tool_not_found without making its name a label', async () => {
    const labels = { server: '', name: '', outcome: 'tool_not_found', ...CALL };
    const before = await scrape(gateway.url);
    for (const name of ['everything__bogus-tool-7f3a', 'nowhere__bogus-tool-9c1d']) {
      await assert.rejects(client.callTool({ name, arguments: {} }), /Unknown tool/);
    }
    const afterCalls = await scrape(gateway.url);
    assert.equal(afterCalls.value('gatehouse_requests_total', labels) - before.value('gatehouse_requests_total', labels), 2);
    assert.doesNotMatch(afterCalls.text, /bogus-tool|nowhere/);
  });

  test('list calls are counted by method, without a tool', async () => {
    const labels = { server: '', kind: '', name: '', method: 'tools/list', outcome: 'ok' };
    const before = await scrape(gateway.url);
    await client.listTools();
    assert.equal((await scrape(gateway.url)).value('gatehouse_requests_total', labels) - before.value('gatehouse_requests_total', labels), 1);
  });

  test('the sessions gauge goes up when a session opens and down when it ends', async () => {
    const before = await scrape(gateway.url);
    const aggregate = before.value('gatehouse_sessions', { endpoint_kind: 'aggregate' });
    const server = before.value('gatehouse_sessions', { endpoint_kind: 'server' });
    const first = await connect(`${gateway.url}/mcp`);
    const second = await connect(`${gateway.url}/servers/everything/mcp`);
    const opened = await scrape(gateway.url);
    assert.equal(opened.value('gatehouse_sessions', { endpoint_kind: 'aggregate' }), aggregate + 1);
    assert.equal(opened.value('gatehouse_sessions', { endpoint_kind: 'server' }), server + 1);
    for (const { client: other, transport } of [first, second]) {
      await transport.terminateSession();
      await other.close();
    }
    const closed = await scrape(gateway.url);
    assert.equal(closed.value('gatehouse_sessions', { endpoint_kind: 'aggregate' }), aggregate);
    assert.equal(closed.value('gatehouse_sessions', { endpoint_kind: 'server' }), server);
  });

  test('a call in flight shows in the in-flight gauges; an unlisted name on a server endpoint is not a label', async () => {
    const { client: single } = await connect(`${gateway.url}/servers/hang/mcp`);
    try {
      // Its unanswered list requests count too while they wait (each gives up after listTimeoutMs,
      // and a failed list is asked for again only seconds later): start from none in flight.
      await scrapeUntil(gateway.url, (current) => current.value('gatehouse_upstream_inflight_requests', { server: 'hang' }) === 0, 'the hung lists to give up');
      const abort = new AbortController();
      // hang-server never answers its echo (nor lists): the call stays in flight until the client gives up on it.
      const call = single.callTool({ name: 'echo', arguments: { text: 'x' } }, undefined, { signal: abort.signal, timeout: 600_000 });
      call.catch(() => undefined);
      await scrapeUntil(
        gateway.url,
        (current) => current.value('gatehouse_inflight_requests') >= 1 && current.value('gatehouse_upstream_inflight_requests', { server: 'hang' }) >= 1,
        'the hung call to be in flight in the gateway and toward its server',
      );
      abort.abort();
      await assert.rejects(call);
      const done = await scrapeUntil(gateway.url, (current) => current.matching('gatehouse_requests_total', { server: 'hang', ...CALL }).length > 0, 'the cancelled call to be counted');
      assert.deepEqual(
        done.matching('gatehouse_requests_total', { server: 'hang', ...CALL }).map((sample) => sample.labels.name),
        [''],
        'the server could not list its tools, so the name the client sent is not trusted as a label',
      );
      assert.doesNotMatch(done.text, /server="hang",[^}]*name="echo"/);
    } finally {
      await single.close();
    }
  });

  test('an upstream that dies shows as not ready, and its restarts are counted', async () => {
    const ready = await scrapeUntil(gateway.url, (current) => current.value('gatehouse_upstream_up', { server: 'dies' }) === 1, 'the server to start');
    assert.equal(ready.value('gatehouse_upstream_state', { server: 'dies', state: 'ready' }), 1);
    assert.equal(ready.value('gatehouse_upstream_restarts_total', { server: 'dies' }), 0);
    await writeFile(dieMarker, '');
    const crashed = await client.callTool({ name: 'dies__crash', arguments: {} });
    assert.equal(crashed.isError, true);
    const down = await scrapeUntil(
      gateway.url,
      (current) => current.value('gatehouse_upstream_restarts_total', { server: 'dies' }) >= 1 && current.value('gatehouse_upstream_up', { server: 'dies' }) === 0,
      'the server to be down after a failed restart',
    );
    assert.equal(down.value('gatehouse_upstream_state', { server: 'dies', state: 'down' }), 1);
    assert.equal(down.value('gatehouse_upstream_state', { server: 'dies', state: 'ready' }), 0);
    assert.equal(down.value('gatehouse_upstream_up', { server: 'everything' }), 1);
    assert.equal(down.value('gatehouse_upstream_circuit_state', { server: 'everything', state: 'closed' }), 1);
    // The crash itself reached the caller as a tool error.
    assert.ok(down.value('gatehouse_requests_total', { server: 'dies', name: 'crash', outcome: 'tool_error', ...CALL }) >= 1);
  });
});

describe('metrics of a gateway that requires authentication', () => {
  let gateway: GatewayProcess;
  let store: Store;
  const tokens: Record<string, string> = {};
  const keyIds: Record<string, string> = {};

  before(async () => {
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 0 },
      metrics: { labels: ['key'] },
      servers: { everything: { ...everythingStdio, isolation: 'shared' } },
      auth: {
        required: true,
        policies: [{ who: { roles: ['caller'] }, servers: ['everything'], tools: ['echo'], when: "args.message.startsWith('please')" }],
      },
    });
    store = await openSqliteStore(join(gateway.configFile, '..', 'data', 'gatehouse.db'));
    const registry = await Registry.open({ store, separator: '__', defaultStatus: 'approved', stdioRegistration: { enabled: false, allowedCommands: [] } });
    for (const role of ['caller', 'metrics']) {
      const issued = await registry.createApiKey({ name: role, roles: [role], actor: 'test' });
      tokens[role] = issued.token;
      keyIds[role] = issued.record.id;
    }
  });

  after(async () => {
    await store?.close();
    await gateway?.close();
  });

  test('/metrics needs a credential with a metrics role, and each refusal is counted by reason', async () => {
    const reasons = ['missing_credentials', 'invalid_credentials', 'forbidden'];
    const before = await scrape(gateway.url, tokens.metrics);
    const missing = await fetch(`${gateway.url}/metrics`);
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer /);
    assert.equal((await fetch(`${gateway.url}/metrics`, { headers: { authorization: 'Bearer ghk_not-a-real-key' } })).status, 401);
    assert.equal((await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${tokens.caller}` } })).status, 403);
    const afterRefusals = await scrape(gateway.url, tokens.metrics);
    for (const reason of reasons) {
      assert.equal(
        afterRefusals.value('gatehouse_auth_failures_total', { reason }) - before.value('gatehouse_auth_failures_total', { reason }),
        1,
        reason,
      );
    }
    assert.doesNotMatch(afterRefusals.text, /not-a-real-key/);
  });

  test('a call a policy denies counts as call_denied for its tool, and a hidden tool as an unknown one', async () => {
    const { client } = await connect(`${gateway.url}/mcp`, tokens.caller);
    try {
      const key = keyIds.caller!;
      const before = await scrape(gateway.url, tokens.metrics);
      assert.equal((await client.callTool({ name: 'everything__echo', arguments: { message: 'please count me' } })).isError ?? false, false);
      await assert.rejects(client.callTool({ name: 'everything__echo', arguments: { message: 'no' } }), /policy does not allow/);
      await assert.rejects(client.callTool({ name: 'everything__get-sum', arguments: { a: 1, b: 2 } }), /Unknown tool/);
      const afterCalls = await scrape(gateway.url, tokens.metrics);
      const delta = (labels: Labels): number => afterCalls.value('gatehouse_requests_total', labels) - before.value('gatehouse_requests_total', labels);
      assert.equal(delta({ server: 'everything', name: 'echo', outcome: 'ok', key, ...CALL }), 1);
      assert.equal(delta({ server: 'everything', name: 'echo', outcome: 'call_denied', key, ...CALL }), 1);
      assert.equal(delta({ server: '', name: '', outcome: 'tool_not_found', key, ...CALL }), 1);
      assert.doesNotMatch(afterCalls.text, /get-sum/, 'a tool the caller may not see never becomes a label');
      // The configured caller label is there; the secret part of the key never is.
      assert.ok(!afterCalls.text.includes(tokens.caller!));
    } finally {
      await client.close();
    }
  });
});
