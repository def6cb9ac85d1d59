// observability/tracing.ts on its own: how a client's trace context is taken (or refused), what the
// spans carry, what goes upstream, and sampling, against an in-process OTLP receiver.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { Tracing, type TracedSession } from '../../src/observability/index.js';
import { otlpUrl } from '../../src/observability/otlp-endpoint.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlp-receiver.js';

const session: TracedSession = { id: 'session-1', protocolVersion: '2025-11-25', identity: { kind: 'api-key', subject: 'key-42' } };
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

let receiver: OtlpReceiver;
before(async () => {
  receiver = await startOtlpReceiver();
});
after(() => receiver.close());

async function openTracing(sampleRatio = 1): Promise<Tracing> {
  return Tracing.open({ endpoint: receiver.url, serviceName: 'unit', serviceVersion: '0.0.0', sampleRatio, headers: {}, warn: () => undefined });
}

function ids(): { traceId: string; spanId: string } {
  return { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') };
}

test('otlpUrl appends the signal path to a base URL and keeps a full one', () => {
  assert.equal(otlpUrl('http://collector:4318', '/v1/traces'), 'http://collector:4318/v1/traces');
  assert.equal(otlpUrl('http://collector:4318/', '/v1/logs'), 'http://collector:4318/v1/logs');
  assert.equal(otlpUrl('https://otlp.example.com/otel/', '/v1/traces'), 'https://otlp.example.com/otel/v1/traces');
  assert.equal(otlpUrl('http://collector:4318/v1/traces', '/v1/traces'), 'http://collector:4318/v1/traces');
});

test('spans of one request: server span on the client\'s context, steps and the upstream call beneath it', async () => {
  const tracing = await openTracing();
  const client = ids();
  const request = tracing.startRequest(session, { id: 7, method: 'tools/call', params: { name: 'github__create_issue' } }, { traceparent: `00-${client.traceId}-${client.spanId}-01` });
  const step = request.step('limits', { 'gatehouse.limits.store': 'redis' });
  step.end('rate_limited');
  const upstream = request.upstreamCall('github', 'tools/call');
  const [, traceId, upstreamSpanId, flags] = TRACEPARENT.exec(upstream.traceparent) ?? [];
  assert.equal(traceId, client.traceId);
  assert.equal(flags, '01');
  upstream.end();
  request.finish({ server: 'github', name: 'create_issue' }, { jsonrpc: '2.0', id: 7, error: { code: -32029, message: 'slow down', data: { reason: 'rate_limited' } } });
  await tracing.close();

  const server = receiver.spans.find((span) => span.traceId === client.traceId && span.kind === 2);
  assert.ok(server);
  assert.equal(server.parentSpanId, client.spanId);
  assert.equal(server.name, 'tools/call github__create_issue');
  assert.deepEqual(
    {
      method: server.attributes['mcp.method.name'],
      id: server.attributes['jsonrpc.request.id'],
      session: server.attributes['mcp.session.id'],
      user: server.attributes['user.id'],
      tool: server.attributes['gen_ai.tool.name'],
      serverName: server.attributes['gatehouse.server'],
      target: server.attributes['gatehouse.target'],
      outcome: server.attributes['gatehouse.outcome'],
      error: server.attributes['error.type'],
      code: server.attributes['rpc.jsonrpc.error_code'],
    },
    { method: 'tools/call', id: '7', session: 'session-1', user: 'key-42', tool: 'github__create_issue', serverName: 'github', target: 'create_issue', outcome: 'error', error: 'rate_limited', code: -32029 },
  );
  assert.equal(server.statusCode, 2);
  const limits = receiver.spans.find((span) => span.traceId === client.traceId && span.name === 'limits');
  assert.equal(limits?.parentSpanId, server.spanId);
  assert.equal(limits?.attributes['error.type'], 'rate_limited');
  const call = receiver.spans.find((span) => span.spanId === upstreamSpanId);
  assert.equal(call?.parentSpanId, server.spanId);
  assert.equal(call?.kind, 3);
});

test('a tool result with isError is an error of type tool_error', async () => {
  const tracing = await openTracing();
  const request = tracing.startRequest(session, { id: 1, method: 'tools/call', params: { name: 'flaky' } }, undefined);
  const traceId = TRACEPARENT.exec(request.upstreamCall('s', 'tools/call').traceparent)?.[1];
  request.finish(undefined, { jsonrpc: '2.0', id: 1, result: { content: [], isError: true } });
  await tracing.close();
  const server = receiver.spans.find((span) => span.traceId === traceId && span.kind === 2);
  assert.equal(server?.attributes['error.type'], 'tool_error');
  assert.equal(server?.parentSpanId, '', 'no client context: a new trace starts here');
});

test('a malformed traceparent is ignored: a new trace starts, the request is not refused', async () => {
  const tracing = await openTracing();
  const request = tracing.startRequest(session, { id: 1, method: 'tools/list' }, { traceparent: '00-not-a-trace-01' });
  const upstream = request.upstreamCall('s', 'tools/list');
  assert.match(upstream.traceparent, TRACEPARENT);
  request.finish(undefined, { jsonrpc: '2.0', id: 1, result: {} });
  await tracing.close();
});

test('the client\'s "not sampled" decision is kept: its context still goes upstream, no span is exported', async () => {
  const tracing = await openTracing(1);
  const client = ids();
  const request = tracing.startRequest(session, { id: 1, method: 'tools/call', params: { name: 'x' } }, { traceparent: `00-${client.traceId}-${client.spanId}-00` });
  const [, traceId, , flags] = TRACEPARENT.exec(request.upstreamCall('s', 'tools/call').traceparent) ?? [];
  assert.equal(traceId, client.traceId);
  assert.equal(flags, '00');
  request.finish(undefined, { jsonrpc: '2.0', id: 1, result: {} });
  await tracing.close();
  assert.equal(receiver.spans.filter((span) => span.traceId === client.traceId).length, 0);
});

test('sampleRatio 0 keeps no trace started at the gateway', async () => {
  const tracing = await openTracing(0);
  const request = tracing.startRequest(session, { id: 1, method: 'tools/call', params: { name: 'x' } }, undefined);
  const traceId = TRACEPARENT.exec(request.upstreamCall('s', 'tools/call').traceparent)?.[1];
  request.finish(undefined, { jsonrpc: '2.0', id: 1, result: {} });
  await tracing.close();
  assert.equal(receiver.spans.filter((span) => span.traceId === traceId).length, 0);
});
