// The retry budget on the test's clock (retries add at most a share of recent requests, plus a small
// reserve, and both expire with the window), its numbers from the config (upstreamDefaults and per
// server), and the bounds of the jittered backoff.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/index.js';
import { createLogger } from '../../src/observability/index.js';
import { DEFAULT_RETRY_BUDGET, RETRY_MAX_MS, RetryBudget, Upstream, retryBackoffMs, type ServerMessageHandler } from '../../src/upstreams/index.js';

function budget(percent: number, minPerSecond: number): { budget: RetryBudget; advance: (ms: number) => void } {
  let now = 5_000_000;
  return { budget: new RetryBudget({ percent, minPerSecond, windowMs: 10_000, now: () => now }), advance: (ms) => (now += ms) };
}

function withdrawals(subject: RetryBudget, tries = 1_000): number {
  let granted = 0;
  for (let index = 0; index < tries; index++) if (subject.withdraw()) granted++;
  return granted;
}

describe('retry budget', () => {
  test('with no traffic, only the reserve: minPerSecond over the window', () => {
    const { budget: subject } = budget(0.2, 3);
    assert.equal(withdrawals(subject), 30);
  });

  test('retries add at most the given share of the requests in the window', () => {
    const { budget: subject } = budget(0.2, 0);
    for (let index = 0; index < 100; index++) subject.deposit();
    assert.equal(withdrawals(subject), 20);
    for (let index = 0; index < 50; index++) subject.deposit();
    assert.equal(withdrawals(subject), 10);
  });

  test('requests older than the window no longer earn retries', () => {
    const { budget: subject, advance } = budget(0.2, 0);
    for (let index = 0; index < 100; index++) subject.deposit();
    assert.equal(subject.withdraw(), true);
    advance(11_000);
    assert.equal(subject.withdraw(), false);
  });

  test('requests counted long before a retry asks are taken as spread over that time', () => {
    const { budget: subject, advance } = budget(0.2, 0);
    // 1000 requests over 100 s, and no retry asked meanwhile: about 100 of them fall in the last 10 s.
    for (let index = 0; index < 1_000; index++) subject.deposit();
    advance(100_000);
    assert.equal(withdrawals(subject), 20);
  });

  test('a spent budget refills as its retries leave the window', () => {
    const { budget: subject, advance } = budget(0.2, 3);
    assert.equal(withdrawals(subject), 30);
    advance(5_000);
    assert.equal(subject.withdraw(), false);
    advance(6_000);
    assert.equal(withdrawals(subject), 30);
  });
});

describe('retry budget config', () => {
  const CONFIG = `
upstreamDefaults:
  retryBudget: { percent: 0.5, minPerSecond: 0.5, windowMs: 20000 }
servers:
  plain: { url: http://127.0.0.1:1/mcp }
  strict: { url: http://127.0.0.1:1/mcp, retryBudget: { percent: 0, minPerSecond: 0 } }
`;

  test('defaults to the built-in numbers, and takes upstreamDefaults and a per-server override', () => {
    assert.deepEqual(parseConfigText('servers: {}', 'test.yaml', {}).upstreamDefaults.retryBudget, { percent: 0.2, minPerSecond: 3, windowMs: 10_000 });
    assert.deepEqual(DEFAULT_RETRY_BUDGET, { percent: 0.2, minPerSecond: 3, windowMs: 10_000 }, 'the schema\'s defaults are the code\'s');
    const config = parseConfigText(CONFIG, 'test.yaml', {});
    assert.deepEqual(config.upstreamDefaults.retryBudget, { percent: 0.5, minPerSecond: 0.5, windowMs: 20_000 });
    assert.equal(config.servers.plain?.retryBudget, undefined);
    assert.deepEqual(config.servers.strict?.retryBudget, { percent: 0, minPerSecond: 0, windowMs: 10_000 });
  });

  test('refuses numbers that make no budget', () => {
    for (const bad of ['{ percent: -0.1 }', '{ minPerSecond: -1 }', '{ windowMs: 10 }', '{ percent: 0.2, retries: 3 }']) {
      assert.throws(() => parseConfigText(`upstreamDefaults: { retryBudget: ${bad} }`, 'test.yaml', {}), /retryBudget/, bad);
    }
  });

  test('each server\'s budget is its override, else upstreamDefaults', async () => {
    const config = parseConfigText(CONFIG, 'test.yaml', {});
    const logger = createLogger({ level: 'silent' });
    // Never connected: only the budgets are asked for, so nothing reaches the handler.
    const handler = {} as ServerMessageHandler;
    const plain = new Upstream('plain', config.servers.plain!, handler, config.upstreamDefaults, logger);
    const strict = new Upstream('strict', config.servers.strict!, handler, config.upstreamDefaults, logger);
    try {
      // upstreamDefaults: a reserve of 0.5 per second over 20 s is 10 retries with no traffic.
      assert.equal(withdrawals(plain.retryBudget), 10);
      // Its override: no share and no reserve, so nothing is ever retried.
      for (let index = 0; index < 100; index++) strict.retryBudget.deposit();
      assert.equal(withdrawals(strict.retryBudget), 0);
    } finally {
      await plain.close();
      await strict.close();
    }
  });
});

describe('retry backoff', () => {
  test('grows exponentially with jitter inside fixed bounds, never past the cap', () => {
    assert.equal(retryBackoffMs(0, () => 0), 25);
    assert.equal(retryBackoffMs(0, () => 1), 50);
    assert.equal(retryBackoffMs(1, () => 0), 50);
    assert.equal(retryBackoffMs(1, () => 1), 100);
    for (let retry = 0; retry < 10; retry++) {
      for (const value of [0, 0.5, 0.999]) {
        const delay = retryBackoffMs(retry, () => value);
        assert.ok(delay >= 25 && delay <= RETRY_MAX_MS, `retry ${retry}: ${delay}`);
      }
    }
    assert.equal(retryBackoffMs(9, () => 0), RETRY_MAX_MS / 2);
  });
});
