// Limits end to end: rate limits and quotas per user (API keys), one limit enforced by two gateway
// processes that share a real redis-server, and a concurrency limit that queues and then refuses.
// Real processes on 127.0.0.1; calls are held open by a client that answers a server's sampling or
// elicitation request only when the test says, never by sleeping.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { join } from 'node:path';
import { Registry, openSqliteStore, type Store } from '../../src/registry/index.js';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { rawRequest } from '../helpers/raw-http.js';
import { redisSkipReason, startRedis, type RedisServer } from '../helpers/redis.js';

/** Generous: tsx compiles on first run and CI machines are loaded. */
const callTimeout = { timeout: 120_000 };
const LIMIT_EXCEEDED = -32029;

async function connect(url: string, token?: string, client = new Client({ name: 'limits-e2e', version: '1.0.0' }, { capabilities: {} })): Promise<Client> {
  const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }), callTimeout);
  return client;
}

/** The JSON-RPC error a refused call failed with. */
async function refusal(promise: Promise<unknown>): Promise<{ code: number; data: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof McpError, `expected a JSON-RPC error, got ${String(error)}`);
    return { code: error.code, data: error.data as Record<string, unknown> };
  }
  assert.fail('the call was not refused');
}

const echo = (client: Client, message: string): Promise<unknown> =>
  client.callTool({ name: 'everything__echo', arguments: { message } }, undefined, callTimeout);

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}

describe('rate limits and quotas per user', () => {
  let gateway: GatewayProcess;
  let store: Store;
  const tokens: Record<string, string> = {};

  before(async () => {
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 0 },
      servers: { everything: { ...everythingStdio, isolation: 'shared' } },
      auth: { required: true },
      limits: {
        rules: [
          { name: 'echo-per-user', match: { tools: ['echo'] }, key: ['user', 'tool'], rate: { requests: 3, per: '1h' } },
          { name: 'sums-per-day', match: { servers: ['every*'], tools: ['get-sum'] }, key: ['user'], quota: { requests: 2, per: 'day' } },
        ],
      },
    });
    store = await openSqliteStore(join(gateway.configFile, '..', 'data', 'gatehouse.db'));
    const registry = await Registry.open({ store, separator: '__', defaultStatus: 'approved', stdioRegistration: { enabled: false, allowedCommands: [] } });
    for (const user of ['alice', 'bob', 'carol']) tokens[user] = (await registry.createApiKey({ name: user, roles: ['user'], actor: 'test' })).token;
  });

  after(async () => {
    await store?.close();
    await gateway?.close();
  });

  test('a user\'s call past the rate is refused with the rule, the limit and when to retry; another user is unaffected', async () => {
    const alice = await connect(`${gateway.url}/mcp`, tokens.alice);
    const bob = await connect(`${gateway.url}/mcp`, tokens.bob);
    try {
      for (let call = 1; call <= 3; call++) await echo(alice, `alice ${call}`);
      const refused = await refusal(echo(alice, 'alice 4'));
      assert.equal(refused.code, LIMIT_EXCEEDED);
      assert.equal(refused.data.reason, 'rate_limited');
      assert.equal(refused.data.rule, 'echo-per-user');
      assert.equal(refused.data.limit, 'rate');
      assert.equal(refused.data.requests, 3);
      assert.equal(refused.data.perMs, 3_600_000);
      assert.ok(typeof refused.data.retryAfterMs === 'number' && refused.data.retryAfterMs > 0 && refused.data.retryAfterMs <= 1_200_000, String(refused.data.retryAfterMs));
      for (let call = 1; call <= 3; call++) await echo(bob, `bob ${call}`);
      // Other tools, and lists, are not counted by this rule.
      await alice.callTool({ name: 'everything__get-sum', arguments: { a: 1, b: 2 } }, undefined, callTimeout);
      assert.ok((await alice.listTools()).tools.length > 0);
      assert.equal((await refusal(echo(alice, 'alice 5'))).data.reason, 'rate_limited');
    } finally {
      await alice.close();
      await bob.close();
    }
  });

  test('a quota refuses the call past it until the next UTC day', async () => {
    const carol = await connect(`${gateway.url}/mcp`, tokens.carol);
    try {
      for (let call = 1; call <= 2; call++) await carol.callTool({ name: 'everything__get-sum', arguments: { a: call, b: 1 } }, undefined, callTimeout);
      const refused = await refusal(carol.callTool({ name: 'everything__get-sum', arguments: { a: 9, b: 1 } }, undefined, callTimeout));
      assert.equal(refused.data.reason, 'quota_exceeded');
      assert.equal(refused.data.rule, 'sums-per-day');
      assert.equal(refused.data.per, 'day');
      const resetsAt = new Date(String(refused.data.resetsAt));
      assert.equal(resetsAt.toISOString().slice(11), '00:00:00.000Z');
      assert.ok(resetsAt.getTime() > Date.now() - 60_000 && resetsAt.getTime() <= Date.now() + 86_400_000 + 60_000);
    } finally {
      await carol.close();
    }
  });

  test('a plain POST refused by a limit carries Retry-After', async () => {
    const headers = { authorization: `Bearer ${tokens.alice}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const url = `${gateway.url}/mcp`;
    const opened = await rawRequest(url, {
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
    });
    const session = opened.headers['mcp-session-id'];
    assert.equal(typeof session, 'string');
    const inSession = { ...headers, 'mcp-session-id': session as string, 'mcp-protocol-version': '2025-06-18' };
    await rawRequest(url, { headers: inSession, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
    // Alice used up her echo rate in the first test.
    const reply = await rawRequest(url, {
      headers: inSession,
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'everything__echo', arguments: { message: 'raw' } } }),
    });
    assert.equal(reply.status, 200);
    assert.match(String(reply.headers['content-type']), /application\/json/);
    const body = JSON.parse(reply.body) as { error: { code: number; data: { reason: string; retryAfterMs: number } } };
    assert.equal(body.error.data.reason, 'rate_limited');
    assert.equal(reply.headers['retry-after'], String(Math.ceil(body.error.data.retryAfterMs / 1000)));
    // An answer that is not a limit's refusal has no Retry-After.
    const listed = await rawRequest(url, { headers: inSession, body: JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }) });
    assert.equal(listed.status, 200);
    assert.equal(listed.headers['retry-after'], undefined);
  });

  test('a session-less 2026-07-28 request refused by a limit carries Retry-After too', async () => {
    const modern = '2026-07-28';
    const envelope = { 'io.modelcontextprotocol/protocolVersion': modern, 'io.modelcontextprotocol/clientCapabilities': {} };
    const reply = await rawRequest(`${gateway.url}/mcp`, {
      headers: {
        authorization: `Bearer ${tokens.alice}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': modern,
        'mcp-method': 'tools/call',
        'mcp-name': 'everything__echo',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'everything__echo', arguments: { message: 'modern' }, _meta: envelope } }),
    });
    assert.equal(reply.status, 200, reply.body);
    const body = JSON.parse(reply.body) as { error: { code: number; data: { reason: string; retryAfterMs: number } } };
    assert.equal(body.error.code, LIMIT_EXCEEDED);
    assert.equal(body.error.data.reason, 'rate_limited');
    assert.equal(reply.headers['retry-after'], String(Math.ceil(body.error.data.retryAfterMs / 1000)));
  });
});

const redisSkip = redisSkipReason();

describe('two gateways sharing one redis-server', { skip: redisSkip }, () => {
  let redis: RedisServer;
  const gateways: GatewayProcess[] = [];

  before(async () => {
    redis = await startRedis();
    for (let replica = 0; replica < 2; replica++) {
      gateways.push(
        await startGateway({
          registry: { healthCheckIntervalMs: 0 },
          servers: { everything: { ...everythingStdio, isolation: 'shared' } },
          limits: {
            store: redis.url,
            rules: [{ name: 'echo-everywhere', match: { tools: ['echo'] }, key: ['tool'], rate: { requests: 5, per: '1h' } }],
          },
        }),
      );
    }
  });

  after(async () => {
    await Promise.all(gateways.map((gateway) => gateway.close()));
    await redis?.stop();
  });

  test('enforce one combined limit under concurrent calls: exactly the limit is allowed', async () => {
    const clients = await Promise.all(gateways.map((gateway) => connect(`${gateway.url}/mcp`)));
    try {
      // Eight calls at once, four through each gateway, against a limit of five.
      const outcomes = await Promise.allSettled(clients.flatMap((client, replica) => [0, 1, 2, 3].map((call) => echo(client, `replica ${replica} call ${call}`))));
      const allowed = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
      const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as McpError] : []));
      assert.equal(allowed, 5);
      assert.equal(refused.length, 3);
      for (const error of refused) assert.equal((error.data as { reason?: string }).reason, 'rate_limited', String(error));
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });
});

describe('concurrency limits', () => {
  let gateway: GatewayProcess;

  before(async () => {
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 0 },
      // One process per client session (the default): sampling and elicitation reach the caller.
      servers: { everything: everythingStdio },
      limits: {
        rules: [
          { name: 'one-sampling', match: { tools: ['trigger-sampling-request'] }, concurrency: { max: 1, queue: 1, queueTimeout: '2m' } },
          { name: 'one-elicitation', match: { tools: ['trigger-elicitation-request'] }, concurrency: { max: 1, queue: 1, queueTimeout: '300ms' } },
        ],
      },
    });
  });

  after(async () => {
    await gateway?.close();
  });

  /** A client whose answers to sampling and elicitation wait until the test releases them. */
  async function heldClient(): Promise<{ client: Client; asked: (label: string) => Promise<void>; answer: (label: string) => void }> {
    const asked = new Map<string, Deferred<void>>();
    const answers = new Map<string, Deferred<void>>();
    const slot = (map: Map<string, Deferred<void>>, label: string): Deferred<void> => {
      let entry = map.get(label);
      if (entry === undefined) {
        entry = deferred();
        map.set(label, entry);
      }
      return entry;
    };
    const hold = async (text: string): Promise<void> => {
      const label = /label-(\w+)/.exec(text)?.[1] ?? 'elicitation';
      slot(asked, label).resolve();
      await slot(answers, label).promise;
    };
    const client = new Client({ name: 'limits-e2e', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {} } });
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => {
      await hold(JSON.stringify(request.params.messages));
      return { role: 'assistant', model: 'test', content: { type: 'text', text: 'sampled' } };
    });
    client.setRequestHandler(ElicitRequestSchema, async () => {
      await hold('');
      return { action: 'decline' };
    });
    await connect(`${gateway.url}/mcp`, undefined, client);
    return { client, asked: (label) => slot(asked, label).promise, answer: (label) => slot(answers, label).resolve() };
  }

  const sample = (client: Client, label: string): Promise<unknown> =>
    client.callTool({ name: 'everything__trigger-sampling-request', arguments: { prompt: `label-${label}`, maxTokens: 5 } }, undefined, callTimeout);

  test('past the slots calls wait in the queue and run when a slot frees; past the queue they are refused at once', async () => {
    const { client, asked, answer } = await heldClient();
    try {
      const first = sample(client, 'first');
      await asked('first'); // in flight: it holds the one slot
      const second = sample(client, 'second');
      const third = sample(client, 'third');
      // One of them waits in the queue of one; the other finds it full.
      const settled = await Promise.race([
        second.then(() => 'second ran', () => 'second'),
        third.then(() => 'third ran', () => 'third'),
      ]);
      assert.ok(settled === 'second' || settled === 'third', settled);
      const [refusedCall, queuedLabel, queued] = settled === 'second' ? [second, 'third', third] : [third, 'second', second];
      const refused = await refusal(refusedCall);
      assert.equal(refused.code, LIMIT_EXCEEDED);
      assert.equal(refused.data.reason, 'concurrency_limited');
      assert.equal(refused.data.rule, 'one-sampling');
      assert.equal(refused.data.limit, 'concurrency');
      assert.equal(refused.data.max, 1);
      assert.equal(refused.data.queue, 1);
      assert.equal(refused.data.waitedMs, undefined);
      answer('first');
      await first;
      await asked(queuedLabel); // the queued call got the slot and runs
      answer(queuedLabel);
      await queued;
    } finally {
      await client.close();
    }
  });

  test('a queued call is refused when its queue timeout passes', async () => {
    const { client, asked, answer } = await heldClient();
    try {
      const holder = client.callTool({ name: 'everything__trigger-elicitation-request', arguments: {} }, undefined, callTimeout);
      await asked('elicitation');
      const refused = await refusal(client.callTool({ name: 'everything__trigger-elicitation-request', arguments: {} }, undefined, callTimeout));
      assert.equal(refused.data.reason, 'concurrency_limited');
      assert.equal(refused.data.rule, 'one-elicitation');
      assert.equal(refused.data.waitedMs, 300);
      answer('elicitation');
      await holder;
    } finally {
      await client.close();
    }
  });
});
