// The stdio supervisor's parts alone: crash-loop counting with an injected clock, the memory reading
// from /proc, and the config rules for pools. The whole (real processes through a gateway) is in
// test/e2e/stdio-supervision.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/index.js';
import { CrashLoop, residentMemoryMb } from '../../src/upstreams/index.js';

describe('crash-loop detection', () => {
  const options = { maxRestarts: 2, windowMs: 1_000, cooldownMs: 5_000 };

  test('tolerates maxRestarts exits within the window; the next one is a loop that blocks until the cool-down ends', () => {
    let now = 10_000;
    const loop = new CrashLoop(options, () => now);
    assert.equal(loop.record(), false);
    now += 100;
    assert.equal(loop.record(), false);
    assert.equal(loop.blocked, false);
    now += 100;
    assert.equal(loop.record(), true);
    assert.equal(loop.blocked, true);
    assert.match(loop.reason, /^crash loop: more than 2 restarts within 1 s; not restarted before /);
    now += 4_999;
    assert.equal(loop.blocked, true);
    now += 1;
    assert.equal(loop.blocked, false);
  });

  test('exits older than the window are forgotten', () => {
    let now = 0;
    const loop = new CrashLoop(options, () => now);
    loop.record();
    loop.record();
    now += 1_000;
    assert.equal(loop.record(), false);
    assert.equal(loop.blocked, false);
  });

  test('end() allows starts again with a fresh count', () => {
    let now = 0;
    const loop = new CrashLoop(options, () => now);
    for (let exit = 0; exit < 3; exit++) loop.record();
    assert.equal(loop.blocked, true);
    loop.end();
    assert.equal(loop.blocked, false);
    assert.equal(loop.record(), false);
  });

  test('maxRestarts 0 turns detection off', () => {
    const loop = new CrashLoop({ ...options, maxRestarts: 0 });
    for (let exit = 0; exit < 100; exit++) assert.equal(loop.record(), false);
    assert.equal(loop.blocked, false);
  });
});

describe('resident memory from /proc', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  test('reads this process\'s resident memory in MiB', async () => {
    const residentMb = await residentMemoryMb(process.pid);
    assert.ok(residentMb !== undefined && residentMb > 1, `got ${residentMb}`);
  });

  test('is undefined for a process that does not exist', async () => {
    assert.equal(await residentMemoryMb(2 ** 22 + 1), undefined);
  });
});

describe('stdio pool config', () => {
  test('replicas without isolation makes a shared pool', () => {
    const config = parseConfigText('servers:\n  s: { command: node, replicas: 3 }\n', 'pool.yaml', {});
    const server = config.servers['s'];
    assert.equal(server?.transport, 'stdio');
    assert.equal(server?.transport === 'stdio' ? server.isolation : undefined, 'shared');
  });

  test('refuses a pool with per-session isolation', () => {
    assert.throws(() => parseConfigText('servers:\n  s: { command: node, replicas: 2, isolation: per-session }\n', 'pool.yaml', {}), /replicas/);
  });

  test('upstreamDefaults carries the supervision defaults', () => {
    const { upstreamDefaults } = parseConfigText('{}\n', 'empty.yaml', {});
    assert.equal(upstreamDefaults.idleShutdownMs, 600_000);
    assert.equal(upstreamDefaults.maxMemoryMb, undefined);
    assert.deepEqual(upstreamDefaults.crashLoop, { maxRestarts: 5, windowMs: 60_000, cooldownMs: 300_000 });
  });
});
