// The circuit breaker alone, on the test's clock: when it opens, how long it stays open, the single
// trial call of half-open, and what counts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GatehouseError } from '../../src/core/index.js';
import { CircuitBreaker, type CircuitBreakerOptions } from '../../src/upstreams/index.js';

function breaker(options: Partial<CircuitBreakerOptions> = {}): { breaker: CircuitBreaker; advance: (ms: number) => void } {
  let now = 1_000_000;
  const created = new CircuitBreaker('crm', {
    consecutiveFailures: 3,
    failureRate: 0,
    minimumCalls: 4,
    window: 10,
    openMs: 5_000,
    now: () => now,
    ...options,
  });
  return { breaker: created, advance: (ms) => (now += ms) };
}

function refused(subject: CircuitBreaker): GatehouseError {
  try {
    subject.admit();
  } catch (error) {
    assert.ok(error instanceof GatehouseError);
    return error;
  }
  assert.fail('expected the call to be refused');
}

describe('circuit breaker', () => {
  test('opens after the configured run of consecutive failures, and a success in between resets the run', () => {
    const { breaker: subject } = breaker();
    subject.failure();
    subject.failure();
    subject.success();
    subject.failure();
    subject.failure();
    subject.admit();
    assert.equal(subject.state, 'closed');
    subject.failure();
    assert.equal(subject.state, 'open');
    const error = refused(subject);
    assert.equal(error.code, 'upstream_unavailable');
    assert.equal(error.data?.['circuit'], 'open');
    assert.equal(error.data?.['retryAfterMs'], 5_000);
    assert.equal(subject.opens, 1);
  });

  test('after openMs one trial call goes through; its success closes the circuit', () => {
    const { breaker: subject, advance } = breaker();
    for (let i = 0; i < 3; i++) subject.failure();
    advance(4_999);
    assert.equal(refused(subject).data?.['retryAfterMs'], 1);
    advance(1);
    assert.equal(subject.state, 'half-open');
    subject.admit();
    refused(subject); // only one trial at a time
    subject.success();
    assert.equal(subject.state, 'closed');
    subject.admit();
  });

  test('a failed trial opens it again for another openMs', () => {
    const { breaker: subject, advance } = breaker();
    for (let i = 0; i < 3; i++) subject.failure();
    advance(5_000);
    subject.admit();
    subject.failure();
    assert.equal(subject.state, 'open');
    assert.equal(refused(subject).data?.['retryAfterMs'], 5_000);
    assert.equal(subject.opens, 2);
  });

  test('a trial whose outcome never comes does not pause the server for good', () => {
    const { breaker: subject, advance } = breaker();
    for (let i = 0; i < 3; i++) subject.failure();
    advance(5_000);
    subject.admit();
    refused(subject);
    advance(5_000);
    subject.admit();
  });

  test('opens on the failure rate over the window once enough calls were seen', () => {
    const { breaker: subject } = breaker({ consecutiveFailures: 100, failureRate: 0.5, minimumCalls: 6 });
    for (const failed of [true, false, true, false, true]) (failed ? subject.failure() : subject.success());
    assert.equal(subject.state, 'closed', 'too few calls for the rate to count');
    subject.failure();
    assert.equal(subject.state, 'open');
  });

  test('a server that came back lets the next call through as a trial at once', () => {
    const { breaker: subject } = breaker();
    for (let i = 0; i < 3; i++) subject.failure();
    subject.recovered();
    assert.equal(subject.state, 'half-open');
    subject.admit();
    subject.success();
    assert.equal(subject.state, 'closed');
  });

  test('consecutiveFailures 0 turns it off', () => {
    const { breaker: subject } = breaker({ consecutiveFailures: 0 });
    for (let i = 0; i < 50; i++) subject.failure();
    subject.admit();
  });
});
