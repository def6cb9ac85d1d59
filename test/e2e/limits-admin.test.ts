// Limit rules through the admin API and the CLI, and limits keyed on the client's address, end to end:
// a rule made, replaced or removed through the API applies from the next call without a restart, on
// this gateway and on a second one sharing its SQLite file; the config file's rules keep applying
// beside them, are read-only, and apply on an edit of the file; `key: [client]` counts 127.0.0.1 and
// 127.0.0.2 apart.
// Real processes on 127.0.0.1 (and 127.0.0.2, also loopback on Linux); nothing sleeps.
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { admin, type AdminCall } from '../helpers/admin-api.js';
import { runCli } from '../helpers/cli.js';
import { everythingStdio, startGateway, waitFor, type GatewayProcess } from '../helpers/gateway-process.js';
import { rawRequest } from '../helpers/raw-http.js';

/** Generous: tsx compiles on first run and CI machines are loaded. */
const callTimeout = { timeout: 120_000 };

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: 'limits-admin-e2e', version: '1.0.0' }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)), callTimeout);
  return client;
}

const call = (client: Client, tool: string, args: Record<string, unknown> = {}): Promise<unknown> =>
  client.callTool({ name: `everything__${tool}`, arguments: args }, undefined, callTimeout);

/** The `data` of the JSON-RPC error a refused call failed with. */
async function refusal(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof McpError, `expected a JSON-RPC error, got ${String(error)}`);
    return error.data as Record<string, unknown>;
  }
  assert.fail('the call was not refused');
}

describe('limit rules through the admin API', () => {
  let gateway: GatewayProcess;
  let second: GatewayProcess | undefined;
  let api: AdminCall;
  let client: Client;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-limits-admin-'));
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 0, pollIntervalMs: 200 },
      servers: { everything: { ...everythingStdio, isolation: 'shared' } },
      limits: { rules: [{ name: 'env-from-file', match: { tools: ['get-env'] }, rate: { requests: 1, per: '1h' } }] },
    });
    api = admin(gateway);
    client = await connect(`${gateway.url}/mcp`);
  });

  after(async () => {
    await client?.close();
    await second?.close();
    await gateway?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a rule created through the API refuses the next call over it, without a restart', async () => {
    const created = await api('POST', '/limits', { name: 'echo-twice', match: { tools: ['echo'] }, rate: { requests: 2, per: '1h' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.source, 'api');
    assert.deepEqual((created.body.spec as { rate: unknown }).rate, { requests: 2, per: 3_600_000 });

    await call(client, 'echo', { message: 'one' });
    await call(client, 'echo', { message: 'two' });
    const refused = await refusal(call(client, 'echo', { message: 'three' }));
    assert.equal(refused.reason, 'rate_limited');
    assert.equal(refused.rule, 'echo-twice');
  });

  test('a replaced rule applies from the next call, and a deleted one no longer counts', async () => {
    // Looser: the rule keeps its counter (keyed by its name), which now refills a thousand times a second.
    const loosened = await api('PUT', '/limits/echo-twice', { match: { tools: ['echo'] }, rate: { requests: 1000, per: '1s' } });
    assert.equal(loosened.status, 200, loosened.text);
    assert.equal(loosened.body.name, 'echo-twice');
    await call(client, 'echo', { message: 'after loosening' });
    // Elsewhere: the rule now counts get-sum (one counter per tool) instead of echo.
    const moved = await api('PUT', '/limits/echo-twice', { match: { tools: ['get-sum'] }, key: ['tool'], rate: { requests: 1, per: '1h' } });
    assert.equal(moved.status, 200, moved.text);
    await call(client, 'echo', { message: 'after the move' });
    await call(client, 'get-sum', { a: 1, b: 2 });
    assert.equal((await refusal(call(client, 'get-sum', { a: 1, b: 2 }))).rule, 'echo-twice');

    assert.equal((await api('DELETE', '/limits/echo-twice')).status, 204);
    await call(client, 'get-sum', { a: 3, b: 4 });
    assert.equal((await api('GET', '/limits/echo-twice')).body.error?.code, 'limit_rule_not_found');
  });

  test('the config file\'s rules keep applying beside the API\'s, listed first and read-only', async () => {
    await api('POST', '/limits', { name: 'tiny-once', match: { tools: ['get-tiny-image'] }, quota: { requests: 1, per: 'day' } });
    const listed = await api('GET', '/limits');
    const items = listed.body.items as { name: string; source: string; readOnly: boolean }[];
    assert.deepEqual(
      items.map((item) => [item.name, item.source, item.readOnly]),
      [
        ['env-from-file', 'file', true],
        ['tiny-once', 'api', false],
      ],
    );
    await call(client, 'get-env');
    assert.equal((await refusal(call(client, 'get-env'))).rule, 'env-from-file');
    await call(client, 'get-tiny-image');
    assert.equal((await refusal(call(client, 'get-tiny-image'))).reason, 'quota_exceeded');

    assert.equal((await api('PUT', '/limits/env-from-file', { rate: { requests: 100, per: '1s' } })).body.error?.code, 'read_only_record');
    assert.equal((await api('DELETE', '/limits/env-from-file')).status, 409);
    const taken = await api('POST', '/limits', { name: 'env-from-file', rate: { requests: 100, per: '1s' } });
    assert.equal(taken.status, 409);
    assert.equal(taken.body.error?.code, 'name_taken');
    assert.equal((await api('DELETE', '/limits/tiny-once')).status, 204);
  });

  test('a bad rule is a 400 that names the field', async () => {
    const badDuration = await api('POST', '/limits', { name: 'bad', rate: { requests: 1, per: 'soon' } });
    assert.equal(badDuration.status, 400);
    assert.equal(badDuration.body.error?.code, 'invalid_body');
    assert.ok(badDuration.body.error?.issues?.some((issue) => issue.path === 'rate.per'), badDuration.text);

    const noLimit = await api('POST', '/limits', { name: 'bad', match: { tools: ['echo'] } });
    assert.equal(noLimit.status, 400);
    assert.ok(noLimit.body.error?.issues?.some((issue) => issue.path === 'rate' && /at least one of rate, quota and concurrency/.test(issue.message)), noLimit.text);

    const badKey = await api('POST', '/limits', { name: 'bad', key: ['address'], rate: { requests: 1, per: '1s' } });
    assert.ok(badKey.body.error?.issues?.some((issue) => issue.path === 'key.0'), badKey.text);

    const unknownField = await api('POST', '/limits', { name: 'bad', rate: { requests: 1, per: '1s', window: 5 } });
    assert.ok(unknownField.body.error?.issues?.some((issue) => issue.path === 'rate.window'), unknownField.text);

    await api('POST', '/limits', { name: 'renamed', rate: { requests: 10, per: '1s' } });
    const rename = await api('PUT', '/limits/renamed', { name: 'other', rate: { requests: 10, per: '1s' } });
    assert.equal(rename.status, 400);
    assert.ok(rename.body.error?.issues?.some((issue) => issue.path === 'name'), rename.text);
    assert.equal((await api('DELETE', '/limits/renamed')).status, 204);
    assert.equal((await api('GET', '/limits/bad')).status, 404, 'nothing bad was stored');
  });

  test('a second gateway sharing the store file applies a rule made through the first, and its removal', async () => {
    second = await startGateway({
      registry: { healthCheckIntervalMs: 0, pollIntervalMs: 200 },
      store: { url: `sqlite:${join(gateway.configFile, '..', 'data', 'gatehouse.db')}` },
      servers: { everything: { ...everythingStdio, isolation: 'shared' } },
      limits: { rules: [{ name: 'env-from-file', match: { tools: ['get-env'] }, rate: { requests: 1, per: '1h' } }] },
    });
    const secondApi = admin(second);
    const secondClient = await connect(`${second.url}/mcp`);
    try {
      const created = await api('POST', '/limits', { name: 'structured-once', match: { tools: ['get-structured-content'] }, rate: { requests: 1, per: '1h' } });
      assert.equal(created.status, 201, created.text);
      // The second gateway reads the store's revision on its poll; its API answers from the same state its limits use.
      let seen = false;
      const poll = setInterval(() => void secondApi('GET', '/limits/structured-once').then((reply) => (seen ||= reply.status === 200)), 100);
      try {
        await waitFor(() => seen, 60_000, 'the second gateway to see the rule');
      } finally {
        clearInterval(poll);
      }
      await call(secondClient, 'get-structured-content', { location: 'New York' });
      assert.equal((await refusal(call(secondClient, 'get-structured-content', { location: 'New York' }))).rule, 'structured-once');

      assert.equal((await secondApi('DELETE', '/limits/structured-once')).status, 204);
      let gone = false;
      const pollGone = setInterval(() => void api('GET', '/limits/structured-once').then((reply) => (gone ||= reply.status === 404)), 100);
      try {
        await waitFor(() => gone, 60_000, 'the first gateway to see the removal');
      } finally {
        clearInterval(pollGone);
      }
      await call(client, 'get-structured-content', { location: 'New York' });
      await call(client, 'get-structured-content', { location: 'New York' });
    } finally {
      await secondClient.close();
    }
  });

  test('the CLI creates, shows, lists, replaces and deletes a rule', async () => {
    const url = ['--url', gateway.url];
    const file = join(dir, 'rule.yaml');
    await writeFile(file, 'match: { tools: [echo] }\nkey: [client, tool]\nrate: { requests: 10, per: 1m, burst: 20 }\n');
    const created = await runCli(['limit', 'set', 'cli-rule', '--file', file, ...url]);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^created cli-rule \(10\/1m burst 20\)$/m);

    const shown = await runCli(['limit', 'get', 'cli-rule', '--json', ...url]);
    assert.equal(shown.code, 0, shown.stderr);
    const item = JSON.parse(shown.stdout) as { name: string; source: string; spec: { key: string[]; rate: unknown } };
    assert.deepEqual([item.name, item.source, item.spec.key, item.spec.rate], ['cli-rule', 'api', ['client', 'tool'], { requests: 10, per: 60_000, burst: 20 }]);

    const listed = await runCli(['limit', 'list', ...url]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^NAME\s+SOURCE\s+MATCH\s+KEY\s+LIMITS$/m);
    assert.match(listed.stdout, /^cli-rule\s+api\s+tools:echo\s+client,tool\s+10\/1m burst 20$/m);
    assert.match(listed.stdout, /^env-from-file\s+file\s/m);

    await writeFile(file, 'name: cli-rule\nquota: { requests: 500, per: day }\n');
    const replaced = await runCli(['limit', 'set', 'cli-rule', '--file', file, ...url]);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.match(replaced.stdout, /^replaced cli-rule \(500\/day\)$/m);
    assert.deepEqual((await api('GET', '/limits/cli-rule')).body.spec, { name: 'cli-rule', match: { servers: ['*'] }, key: [], quota: { requests: 500, per: 'day' } });

    const deleted = await runCli(['limit', 'delete', 'cli-rule', ...url]);
    assert.equal(deleted.code, 0, deleted.stderr);
    const missing = await runCli(['limit', 'get', 'cli-rule', ...url]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /limit_rule_not_found|No limit rule/);
  });

  test('an edit of limits.rules in the config file applies without a restart, beside the API\'s rules', async () => {
    await api('POST', '/limits', { name: 'api-beside', match: { tools: ['get-annotated-message'] }, rate: { requests: 100, per: '1s' } });
    const config = parse(await readFile(gateway.configFile, 'utf8')) as { limits: { rules: unknown[] } };
    config.limits.rules = [{ name: 'sum-from-file', match: { tools: ['get-sum'] }, key: ['client'], rate: { requests: 1, per: '1h' } }];
    await writeFile(gateway.configFile, stringify(config));
    let names: string[] = [];
    const poll = setInterval(() => void api('GET', '/limits').then((reply) => (names = (reply.body.items as { name: string }[]).map((item) => item.name))), 100);
    try {
      await waitFor(() => names.includes('sum-from-file'), 60_000, 'the file\'s new rule');
    } finally {
      clearInterval(poll);
    }
    assert.deepEqual(names, ['sum-from-file', 'api-beside'], 'the rule the file dropped is gone, the API\'s stays');
    await call(client, 'get-env');
    await call(client, 'get-sum', { a: 1, b: 1 });
    assert.equal((await refusal(call(client, 'get-sum', { a: 1, b: 1 }))).rule, 'sum-from-file');
  });
});

describe('limits keyed on the client\'s address', () => {
  let gateway: GatewayProcess;
  const agents: Agent[] = [];

  before(async () => {
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 0 },
      servers: { everything: { ...everythingStdio, isolation: 'shared' } },
      limits: { rules: [{ name: 'per-client', match: { tools: ['echo'] }, key: ['client'], rate: { requests: 2, per: '1h' } }] },
    });
  });

  after(async () => {
    for (const agent of agents) agent.destroy();
    await gateway?.close();
  });

  /** A raw MCP session whose connections leave from `localAddress`; returns a function that calls echo. */
  async function sessionFrom(localAddress: string): Promise<(message: string) => Promise<{ error?: { data: { reason: string; rule: string } } }>> {
    const agent = new Agent({ localAddress, keepAlive: true });
    agents.push(agent);
    const url = `${gateway.url}/mcp`;
    const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const opened = await rawRequest(url, {
      agent,
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: localAddress, version: '1' } } }),
    });
    assert.equal(opened.status, 200, opened.body);
    const inSession = { ...headers, 'mcp-session-id': String(opened.headers['mcp-session-id']), 'mcp-protocol-version': '2025-06-18' };
    await rawRequest(url, { agent, headers: inSession, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    let id = 1;
    return async (message) => {
      const reply = await rawRequest(url, {
        agent,
        headers: inSession,
        body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method: 'tools/call', params: { name: 'everything__echo', arguments: { message } } }),
      });
      assert.equal(reply.status, 200, reply.body);
      // An answer comes as JSON, or as an SSE stream whose last data line is the response.
      const json = String(reply.headers['content-type']).includes('text/event-stream')
        ? reply.body.split('\n').filter((line) => line.startsWith('data:')).at(-1)!.slice(5)
        : reply.body;
      return JSON.parse(json) as { error?: { data: { reason: string; rule: string } } };
    };
  }

  test('two unauthenticated clients on different addresses have a counter each', async () => {
    const first = await sessionFrom('127.0.0.1');
    const second = await sessionFrom('127.0.0.2');
    assert.equal((await first('1')).error, undefined);
    assert.equal((await first('2')).error, undefined);
    assert.equal((await first('3')).error?.data.rule, 'per-client');
    // The other address has its whole allowance, whatever the first used.
    assert.equal((await second('1')).error, undefined);
    assert.equal((await second('2')).error, undefined);
    assert.equal((await second('3')).error?.data.reason, 'rate_limited');
    // A new session from the first address shares its counter: the address is the key, not the session.
    const again = await sessionFrom('127.0.0.1');
    assert.equal((await again('4')).error?.data.rule, 'per-client');
  });
});
