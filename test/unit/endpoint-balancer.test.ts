// The balancer alone, with an injected random source: power of two choices over latency × load ÷
// weight, open circuits never picked, failed endpoints only as a last resort, and the latency EWMA.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CircuitBreaker, UpstreamEndpoint, pickEndpoint } from '../../src/upstreams/index.js';

function endpoint(name: string, options: { weight?: number; ewmaMs?: number; sessions?: number; inflight?: number } = {}): UpstreamEndpoint {
  const created = new UpstreamEndpoint(
    new URL(`http://${name}.test/mcp`),
    name,
    options.weight ?? 1,
    undefined,
    new CircuitBreaker('svc', { consecutiveFailures: 2, failureRate: 0, minimumCalls: 1, window: 10, openMs: 60_000 }),
  );
  if (options.ewmaMs !== undefined) created.observe(options.ewmaMs, 0);
  created.sessions = options.sessions ?? 0;
  created.inflight = options.inflight ?? 0;
  return created;
}

/** A random source that plays back the given numbers, then repeats the last. */
function playback(...values: number[]): () => number {
  let index = 0;
  return () => values[Math.min(index++, values.length - 1)]!;
}

/** Places `count` new sessions one after another, as the gateway does, and counts them per endpoint. */
function place(endpoints: UpstreamEndpoint[], count: number, random: () => number): Map<string, number> {
  const placed = new Map<string, number>();
  for (let index = 0; index < count; index++) {
    const picked = pickEndpoint(endpoints, random)!;
    picked.sessions++;
    placed.set(picked.label, (placed.get(picked.label) ?? 0) + 1);
  }
  return placed;
}

describe('endpoint balancer', () => {
  test('of the two endpoints drawn at random, the cheaper one is picked', () => {
    const endpoints = [endpoint('a', { ewmaMs: 50 }), endpoint('b', { ewmaMs: 5 }), endpoint('c', { ewmaMs: 10 })];
    // Draws a (0) and c (0.5 of the two left, skipping a): c is cheaper than a.
    assert.equal(pickEndpoint(endpoints, playback(0, 0.5))?.label, 'c');
    // Draws b and c: b.
    assert.equal(pickEndpoint(endpoints, playback(0.4, 0.9))?.label, 'b');
    // Draws a and b: b.
    assert.equal(pickEndpoint(endpoints, playback(0, 0))?.label, 'b');
  });

  test('load multiplies latency: a fast endpoint that is busy loses to a slower idle one', () => {
    const endpoints = [endpoint('fast', { ewmaMs: 10, inflight: 5 }), endpoint('slow', { ewmaMs: 20 })];
    // 10 × (5 + 1) = 60 against 20 × 1 = 20.
    assert.equal(pickEndpoint(endpoints, playback(0, 0))?.label, 'slow');
  });

  test('sessions are spread in proportion to speed: a replica four times faster gets about four times the sessions', () => {
    const placed = place([endpoint('quick', { ewmaMs: 10 }), endpoint('sluggish', { ewmaMs: 40 })], 50, playback(0.3));
    assert.equal(placed.get('quick'), 40);
    assert.equal(placed.get('sluggish'), 10);
  });

  test('weights: an endpoint of weight 3 takes three times the sessions of one of weight 1', () => {
    const placed = place([endpoint('small', { ewmaMs: 10 }), endpoint('big', { ewmaMs: 10, weight: 3 })], 40, playback(0.3));
    assert.equal(placed.get('big'), 30);
    assert.equal(placed.get('small'), 10);
  });

  test('an endpoint not measured yet counts as fast as the measured ones', () => {
    const placed = place([endpoint('measured', { ewmaMs: 10 }), endpoint('new')], 10, playback(0.3));
    assert.equal(placed.get('measured'), 5);
    assert.equal(placed.get('new'), 5);
  });

  test('an endpoint whose circuit is open is never picked, however cheap', () => {
    const open = endpoint('open', { ewmaMs: 1 });
    open.breaker.failure();
    open.breaker.failure();
    assert.equal(open.breaker.state, 'open');
    const endpoints = [open, endpoint('ok', { ewmaMs: 500, sessions: 100 })];
    for (const value of [0, 0.25, 0.5, 0.75, 0.99]) assert.equal(pickEndpoint(endpoints, playback(value))?.label, 'ok');
    const lone = endpoint('alone', { ewmaMs: 1 });
    lone.breaker.failure();
    lone.breaker.failure();
    assert.equal(pickEndpoint([lone], Math.random), undefined);
  });

  test('an endpoint whose last connection failed is picked only when no other can be', () => {
    const failed = endpoint('failed', { ewmaMs: 1 });
    failed.failed('ECONNREFUSED');
    const endpoints = [failed, endpoint('up', { ewmaMs: 100, sessions: 10 })];
    assert.equal(pickEndpoint(endpoints, playback(0))?.label, 'up');
    assert.equal(pickEndpoint([failed], playback(0))?.label, 'failed');
    failed.reached();
    assert.equal(pickEndpoint(endpoints, playback(0))?.label, 'failed');
  });

  test('the endpoint a request just failed on is avoided while another can take it', () => {
    const endpoints = [endpoint('a', { ewmaMs: 1 }), endpoint('b', { ewmaMs: 100 })];
    assert.equal(pickEndpoint(endpoints, playback(0), endpoints[0])?.label, 'b');
    assert.equal(pickEndpoint([endpoints[0]!], playback(0), endpoints[0]), undefined);
  });

  test('the latency average weighs samples by time: after its decay time a sample keeps 1/e of its weight', () => {
    const subject = endpoint('a');
    assert.equal(subject.ewmaMs, undefined);
    subject.observe(100, 0);
    assert.equal(subject.ewmaMs, 100);
    // A burst of fast answers within a millisecond barely moves it...
    subject.observe(0, 1);
    assert.ok(subject.ewmaMs! > 99.9, String(subject.ewmaMs));
    // ...while one after ten quiet seconds takes 1 - 1/e of the weight.
    subject.observe(0, 10_001);
    assert.ok(Math.abs(subject.ewmaMs! - 100 * Math.exp(-1)) < 0.1, String(subject.ewmaMs));
  });
});
