// Issue #7, OpenTelemetry: a call carrying the client's W3C trace context continues that trace through
// the gateway. The HTTP upstream (a fixture that reports the headers it got) sees a traceparent of the
// same trace whose parent is the gateway's upstream-call span, and so does a legacy HTTP+SSE upstream on
// the messages POST that carries the call; a stdio upstream gets it in `_meta`; an OTLP receiver in
// this process gets the spans, linked client → gateway → upstream call, and the audit records as OTLP
// logs. With tracing off nothing is added and nothing is exported.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { fixturePath, startHttpFixture, type HttpFixture } from '../fixtures/spawn-fixture.js';
import { startGateway, waitFor, type GatewayProcess } from '../helpers/gateway-process.js';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../helpers/otlp-receiver.js';
import { redisSkipReason, startRedis, type RedisServer } from '../helpers/redis.js';

const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;
/** Spans leave in batches every 5 s (the SDK's default); the machine may be loaded. */
const EXPORT_WAIT_MS = 60_000;

const stdioRecorder = { command: process.execPath, args: ['--import', 'tsx', 'test/fixtures/header-recorder.ts', '--stdio'] };

interface ClientTrace {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceparent: string;
}

function clientTrace(): ClientTrace {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/;

async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'tracing-test', version: '1.0.0' }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

/** Calls a fixture tool that answers with a JSON object (the headers or `_meta` it got). */
async function callForJson(client: Client, name: string, meta?: Record<string, string>): Promise<Record<string, unknown>> {
  const result = await client.callTool({ name, arguments: {}, ...(meta !== undefined ? { _meta: meta } : {}) });
  const text = (result.content as { text: string }[])[0]!.text;
  return JSON.parse(text) as Record<string, unknown>;
}

function spanWithId(receiver: OtlpReceiver, spanId: string): ReceivedSpan | undefined {
  return receiver.spans.find((span) => span.spanId === spanId);
}

/**
 * The headers an upstream reported (`seen`) carry the gateway's upstream-call span as traceparent,
 * in the client's trace; the receiver gets that span (a client span for `server`) and its parent,
 * the gateway's server span `tools/call <server>__headers` continuing the client's span.
 */
async function upstreamCallSpans(
  receiver: OtlpReceiver,
  seen: Record<string, unknown>,
  caller: ClientTrace,
  server: string,
): Promise<{ upstreamCall: ReceivedSpan; serverSpan: ReceivedSpan }> {
  const match = TRACEPARENT.exec(String(seen.traceparent ?? ''));
  assert.ok(match, `the ${server} upstream got no traceparent: ${JSON.stringify(seen)}`);
  const [, traceId, upstreamCallSpanId] = match;
  assert.equal(traceId, caller.traceId, 'the upstream call belongs to the client\'s trace');
  assert.notEqual(upstreamCallSpanId, caller.spanId, 'the upstream\'s parent is the gateway\'s span, not the client\'s');

  await waitFor(() => spanWithId(receiver, upstreamCallSpanId!) !== undefined, EXPORT_WAIT_MS, `the ${server} upstream-call span at the receiver`);
  const upstreamCall = spanWithId(receiver, upstreamCallSpanId!)!;
  assert.equal(upstreamCall.kind, SPAN_KIND.client);
  assert.equal(upstreamCall.traceId, caller.traceId);
  assert.equal(upstreamCall.attributes['gatehouse.server'], server);

  await waitFor(() => spanWithId(receiver, upstreamCall.parentSpanId) !== undefined, EXPORT_WAIT_MS, 'the server span at the receiver');
  const serverSpan = spanWithId(receiver, upstreamCall.parentSpanId)!;
  assert.equal(serverSpan.kind, SPAN_KIND.server);
  assert.equal(serverSpan.parentSpanId, caller.spanId, 'the gateway\'s span continues the client\'s');
  assert.equal(serverSpan.traceId, caller.traceId);
  assert.equal(serverSpan.name, `tools/call ${server}__headers`);
  return { upstreamCall, serverSpan };
}

describe('OpenTelemetry tracing', () => {
  let receiver: OtlpReceiver;
  let upstream: HttpFixture;
  let legacyUpstream: HttpFixture;
  let gateway: GatewayProcess;

  before(async () => {
    receiver = await startOtlpReceiver();
    upstream = await startHttpFixture(fixturePath('header-recorder.ts'));
    legacyUpstream = await startHttpFixture(fixturePath('header-recorder.ts'), ['--sse']);
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 0 },
      // Spans go out a moment after they end, rather than after OpenTelemetry's default 5 s.
      tracing: { endpoint: receiver.url, serviceName: 'gatehouse-under-test', batchDelayMs: 100 },
      audit: { queue: { flushMs: 20 }, sinks: [{ type: 'otlp', endpoint: receiver.url }] },
      servers: { web: { url: upstream.url }, legacy: { url: legacyUpstream.url, transport: 'sse' }, local: stdioRecorder },
    });
  });

  after(async () => {
    await gateway?.close();
    await legacyUpstream?.close();
    await upstream?.close();
    await receiver?.close();
  });

  test('the client\'s traceparent header reaches the HTTP upstream as the gateway\'s upstream-call span, in the same trace', async () => {
    const caller = clientTrace();
    const client = await connect(`${gateway.url}/mcp`, { traceparent: caller.traceparent });
    try {
      const seen = await callForJson(client, 'web__headers');
      const { upstreamCall, serverSpan } = await upstreamCallSpans(receiver, seen, caller, 'web');
      assert.equal(upstreamCall.serviceName, 'gatehouse-under-test');
      assert.equal(serverSpan.attributes['mcp.method.name'], 'tools/call');
      assert.equal(serverSpan.attributes['gen_ai.tool.name'], 'web__headers');
      assert.equal(serverSpan.attributes['gatehouse.server'], 'web');
      assert.equal(serverSpan.attributes['gatehouse.target'], 'headers');
      assert.equal(serverSpan.attributes['gatehouse.outcome'], 'ok');
      assert.equal(typeof serverSpan.attributes['mcp.session.id'], 'string');

      // The audit intent is written before the call goes upstream: its own span under the server span.
      const intent = receiver.spans.find((span) => span.name === 'audit intent' && span.parentSpanId === serverSpan.spanId);
      assert.ok(intent, 'the audit intent write has a span under the server span');
      assert.equal(intent.kind, SPAN_KIND.internal);
    } finally {
      await client.close();
    }
  });

  test('the client\'s traceparent reaches a legacy SSE upstream on the POST carrying the call, as the gateway\'s upstream-call span, in the same trace', async () => {
    const caller = clientTrace();
    const client = await connect(`${gateway.url}/mcp`, { traceparent: caller.traceparent });
    try {
      // Spec 2024-11-05: the call goes up as a POST to the announced messages endpoint; `headers` reports that POST's.
      const seen = await callForJson(client, 'legacy__headers');
      assert.equal(seen['content-type'], 'application/json', `not the headers of the messages POST: ${JSON.stringify(seen)}`);
      const { serverSpan } = await upstreamCallSpans(receiver, seen, caller, 'legacy');
      assert.equal(serverSpan.attributes['gatehouse.outcome'], 'ok');
    } finally {
      await client.close();
    }
  });

  test('_meta.traceparent reaches a stdio upstream, and the client\'s _meta context wins over its header', async () => {
    const header = clientTrace();
    const inMeta = clientTrace();
    const client = await connect(`${gateway.url}/mcp`, { traceparent: header.traceparent });
    try {
      const meta = await callForJson(client, 'local__meta', { traceparent: inMeta.traceparent, tracestate: 'vendor=opaque' });
      const match = TRACEPARENT.exec(String(meta.traceparent ?? ''));
      assert.ok(match, `the stdio upstream got no _meta.traceparent: ${JSON.stringify(meta)}`);
      assert.equal(match[1], inMeta.traceId, 'the per-message context in _meta is the parent (SEP-414)');
      assert.notEqual(match[2], inMeta.spanId, 'the client\'s traceparent was replaced by the gateway\'s span');
      assert.equal(meta.tracestate, 'vendor=opaque', 'tracestate travels with the trace');

      await waitFor(() => receiver.spans.some((span) => span.name === 'tools/call local__meta' && span.traceId === inMeta.traceId), EXPORT_WAIT_MS, 'the stdio call\'s server span');
      const serverSpan = receiver.spans.find((span) => span.name === 'tools/call local__meta' && span.traceId === inMeta.traceId)!;
      assert.equal(serverSpan.parentSpanId, inMeta.spanId);
    } finally {
      await client.close();
    }
  });

  test('the HTTP upstream gets the trace context in _meta too', async () => {
    const caller = clientTrace();
    const client = await connect(`${gateway.url}/mcp`, { traceparent: caller.traceparent });
    try {
      const meta = await callForJson(client, 'web__meta');
      assert.equal(TRACEPARENT.exec(String(meta.traceparent ?? ''))?.[1], caller.traceId);
    } finally {
      await client.close();
    }
  });

  test('a call without client context starts a trace at the gateway, and an error is recorded on the span', async () => {
    const client = await connect(`${gateway.url}/mcp`);
    try {
      const seen = await callForJson(client, 'web__headers');
      const traceId = TRACEPARENT.exec(String(seen.traceparent ?? ''))?.[1];
      assert.ok(traceId, 'a root trace is started and propagated');
      await assert.rejects(client.callTool({ name: 'web__no_such_tool', arguments: {} }));
      await waitFor(() => receiver.spans.some((span) => span.name === 'tools/call web__no_such_tool'), EXPORT_WAIT_MS, 'the failed call\'s span');
      const failed = receiver.spans.find((span) => span.name === 'tools/call web__no_such_tool')!;
      assert.equal(failed.attributes['gatehouse.outcome'], 'error');
      assert.equal(failed.attributes['error.type'], 'tool_not_found');
      assert.equal(failed.statusCode, 2);
      assert.equal(failed.parentSpanId, '');
    } finally {
      await client.close();
    }
  });

  test('the OTLP audit sink delivers one log record per call, its fields as attributes', async () => {
    const client = await connect(`${gateway.url}/mcp`);
    try {
      await callForJson(client, 'local__headers');
      await callForJson(client, 'local__headers');
    } finally {
      await client.close();
    }
    const fromLocal = (): typeof receiver.logs => receiver.logs.filter((record) => record.attributes.server === 'local' && record.attributes.name === 'headers');
    await waitFor(() => fromLocal().length >= 2, EXPORT_WAIT_MS, 'two audit log records');
    const records = fromLocal();
    assert.equal(records.length, 2, 'one record per call, not one per intent and outcome');
    for (const record of records) {
      assert.equal(record.eventName, 'gatehouse.audit');
      assert.equal(record.attributes.method, 'tools/call');
      assert.equal(record.attributes.outcome, 'ok');
      assert.equal(typeof record.attributes.sessionId, 'string');
      assert.equal(record.serviceName, 'gatehouse-under-test');
    }
    assert.notEqual(records[0]!.attributes.requestId, records[1]!.attributes.requestId);
  });
});

/** An OTLP receiver, a header-recording HTTP upstream and a gateway configured from their URLs, for one describe. */
function tracingRig(configure: (receiverUrl: string, upstreamUrl: string) => Record<string, unknown>): { receiver: OtlpReceiver; upstream: HttpFixture; gateway: GatewayProcess } {
  const rig = {} as { receiver: OtlpReceiver; upstream: HttpFixture; gateway: GatewayProcess };
  before(async () => {
    rig.receiver = await startOtlpReceiver();
    rig.upstream = await startHttpFixture(fixturePath('header-recorder.ts'));
    rig.gateway = await startGateway(configure(rig.receiver.url, rig.upstream.url));
  });
  after(async () => {
    await rig.gateway?.close();
    await rig.upstream?.close();
    await rig.receiver?.close();
  });
  return rig;
}

describe('spans waiting for their batch at shutdown', () => {
  // A batch delay no test outlives: a span the receiver gets was sent by the shutdown.
  const rig = tracingRig((receiver, upstream) => ({ registry: { healthCheckIntervalMs: 0 }, tracing: { endpoint: receiver, batchDelayMs: 600_000 }, servers: { web: { url: upstream } } }));

  test('are sent when the gateway stops', async () => {
    const caller = clientTrace();
    const client = await connect(`${rig.gateway.url}/mcp`, { traceparent: caller.traceparent });
    try {
      await callForJson(client, 'web__headers');
    } finally {
      await client.close();
    }
    assert.equal(rig.receiver.spans.filter((span) => span.traceId === caller.traceId).length, 0, 'nothing of the call was sent before the stop');
    // close() resolves once the process has exited: whatever it sent has been received by then.
    await rig.gateway.close();
    assert.ok(rig.receiver.spans.some((span) => span.traceId === caller.traceId && span.kind === SPAN_KIND.server), 'the call\'s span was sent before the gateway exited');
  });
});

describe('tracing off', () => {
  const rig = tracingRig((receiver, upstream) => ({
    registry: { healthCheckIntervalMs: 0 },
    // The receiver is known to this gateway (its audit sink), so a trace export would have somewhere to go.
    audit: { queue: { flushMs: 20 }, sinks: [{ type: 'otlp', endpoint: receiver }] },
    servers: { web: { url: upstream }, local: stdioRecorder },
  }));

  test('adds no trace context upstream and exports no spans', async () => {
    const client = await connect(`${rig.gateway.url}/mcp`, { traceparent: clientTrace().traceparent });
    try {
      const headers = await callForJson(client, 'web__headers');
      assert.equal(headers.traceparent, undefined, 'the client\'s header is not forwarded and none is added');
      const meta = await callForJson(client, 'local__meta');
      assert.equal(meta.traceparent, undefined);
    } finally {
      await client.close();
    }
    // Stopping flushes whatever is buffered: the audit records arrive, and no span ever does.
    await rig.gateway.close();
    await waitFor(() => rig.receiver.logs.length >= 2, EXPORT_WAIT_MS, 'the audit records');
    assert.equal(rig.receiver.posts.get('/v1/traces') ?? 0, 0);
    assert.equal(rig.receiver.spans.length, 0);
  });
});

describe('spans of the filters that do I/O', () => {
  const redisSkip = redisSkipReason();
  let receiver: OtlpReceiver;
  let redis: RedisServer | undefined;
  let gateway: GatewayProcess;

  before(async () => {
    receiver = await startOtlpReceiver();
    if (redisSkip === undefined) redis = await startRedis();
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 0 },
      tracing: { endpoint: receiver.url, batchDelayMs: 100 },
      cache: { rules: [{ servers: ['local'], tools: ['headers'], ttl: '1h' }] },
      ...(redis !== undefined
        ? { limits: { store: redis.url, rules: [{ name: 'meta-calls', match: { tools: ['meta'] }, key: ['tool'], rate: { requests: 1000, per: '1h' } }] } }
        : {}),
      servers: { local: stdioRecorder },
    });
  });

  after(async () => {
    await gateway?.close();
    await redis?.stop();
    await receiver?.close();
  });

  /** The spans under the server span of the call in trace `traceId`, once exported. */
  async function stepsOf(traceId: string): Promise<ReceivedSpan[]> {
    await waitFor(() => receiver.spans.some((span) => span.traceId === traceId && span.kind === SPAN_KIND.server), EXPORT_WAIT_MS, 'the server span');
    const server = receiver.spans.find((span) => span.traceId === traceId && span.kind === SPAN_KIND.server)!;
    return receiver.spans.filter((span) => span.parentSpanId === server.spanId && span.kind === SPAN_KIND.internal);
  }

  test('a cache lookup has its span, telling a miss from a hit', async () => {
    const first = clientTrace();
    const second = clientTrace();
    const client = await connect(`${gateway.url}/mcp`);
    try {
      await callForJson(client, 'local__headers', { traceparent: first.traceparent });
      await callForJson(client, 'local__headers', { traceparent: second.traceparent });
    } finally {
      await client.close();
    }
    const miss = (await stepsOf(first.traceId)).find((span) => span.name === 'cache lookup');
    const hit = (await stepsOf(second.traceId)).find((span) => span.name === 'cache lookup');
    assert.equal(miss?.attributes['gatehouse.cache.hit'], false);
    assert.equal(hit?.attributes['gatehouse.cache.hit'], true);
    // A hit never goes upstream: no upstream-call span in its trace.
    assert.equal(receiver.spans.filter((span) => span.traceId === second.traceId && span.kind === SPAN_KIND.client).length, 0);
  });

  test('limit counters in Redis have their span', { skip: redisSkip }, async () => {
    const caller = clientTrace();
    const client = await connect(`${gateway.url}/mcp`);
    try {
      await callForJson(client, 'local__meta', { traceparent: caller.traceparent });
    } finally {
      await client.close();
    }
    const limits = (await stepsOf(caller.traceId)).find((span) => span.name === 'limits');
    assert.equal(limits?.attributes['gatehouse.limits.store'], 'redis');
    assert.equal(limits?.statusCode, 0);
  });
});
