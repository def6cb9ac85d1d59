// The stdio process supervisor, through a gateway process with real stdio servers: a pool of
// processes (`replicas`), idle shutdown of per-session processes, the memory ceiling, and crash-loop
// detection. Every test starts its own gateway and checks that no server process outlives it.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { isRunning, killSurvivors, snapshotDescendants, survivorsOf, type ProcessRecord } from '../fixtures/process-tree.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { textOf } from '../helpers/results.js';

const TIMEOUT = { timeout: 180_000 };
const FIXTURE = 'supervised-server';
const supervised = { command: process.execPath, args: ['--import', 'tsx', `test/fixtures/${FIXTURE}.ts`, '--stdio'] };

/** Polls an asynchronous condition (the process table, a file) until it holds. */
async function eventually(condition: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The server processes the gateway runs now. */
async function serverProcesses(gateway: GatewayProcess): Promise<ProcessRecord[]> {
  return (await snapshotDescendants(gateway.pid)).filter((entry) => entry.commandLine.includes(FIXTURE));
}

/**
 * Runs `body` against a gateway with `config`, then stops the gateway and asserts that none of the
 * server processes it ran (as last seen) is still alive.
 */
async function withGateway(config: Record<string, unknown>, body: (gateway: GatewayProcess, connect: (server: string) => Promise<Client>) => Promise<void>): Promise<void> {
  const gateway = await startGateway({ registry: { healthCheckIntervalMs: 0 }, ...config });
  const clients: Client[] = [];
  let seen: ProcessRecord[] = [];
  try {
    await body(gateway, async (server) => {
      const client = new Client({ name: 'supervision-e2e', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/servers/${server}/mcp`)));
      clients.push(client);
      return client;
    });
  } finally {
    seen = await serverProcesses(gateway);
    await Promise.allSettled(clients.map((client) => client.close()));
    await gateway.close();
  }
  try {
    await eventually(async () => (await survivorsOf(seen)).length === 0, 'the server processes to end', 30_000);
  } finally {
    await killSurvivors(seen);
  }
}

/** A shared server that dies 200 ms after each start: its third exit within two minutes makes a crash loop. */
function crashLooping(env: Record<string, string> = {}): Record<string, unknown> {
  return { ...supervised, isolation: 'shared', env: { ...env, CRASH_AFTER_MS: '200' }, crashLoop: { maxRestarts: 2, windowMs: 120_000, cooldownMs: 600_000 } };
}

async function pidOf(client: Client, server: string): Promise<number> {
  const result = await client.callTool({ name: 'pid', arguments: {} });
  assert.notEqual(result.isError, true, `pid failed on ${server}: ${textOf(result)}`);
  return Number(textOf(result));
}

describe('stdio process supervision', () => {
  test('a pool spreads sessions over its processes, and a killed process\'s sessions go on on another', TIMEOUT, async () => {
    await withGateway({ upstreamDefaults: { restartBackoffMs: 200 }, servers: { pool: { ...supervised, replicas: 3 } } }, async (gateway, connect) => {
      const sessions: { client: Client; pid: number }[] = [];
      for (let index = 0; index < 9; index++) {
        const client = await connect('pool');
        sessions.push({ client, pid: await pidOf(client, 'pool') });
      }
      const pids = new Set(sessions.map((session) => session.pid));
      assert.equal(pids.size, 3, `sessions were placed on ${[...pids].join(', ')}`);
      assert.deepEqual(new Set((await serverProcesses(gateway)).map((entry) => entry.pid)), pids, 'the pool is exactly the processes that served');
      // Sticky: a session's calls stay on its process.
      for (const session of sessions) assert.equal(await pidOf(session.client, 'pool'), session.pid);

      const victim = sessions[0]!.pid;
      process.kill(-victim, 'SIGKILL');
      await eventually(async () => gateway.logs.some((line) => line.msg === 'pool process exited; its sessions move to another' && line.pid === victim), 'the gateway to see the exit');
      for (const session of sessions.filter((candidate) => candidate.pid === victim)) {
        const moved = await pidOf(session.client, 'pool');
        assert.notEqual(moved, victim);
      }
      // The dead process is restarted with backoff: three processes again.
      await eventually(async () => (await serverProcesses(gateway)).length === 3, 'the pool to be whole again');
      assert.ok(gateway.logs.some((line) => line.msg === 'restarting pool process'));
    });
  });

  test('an idle per-session process is stopped, and the session\'s next call starts a new one', TIMEOUT, async () => {
    await withGateway({ servers: { isolated: { ...supervised, isolation: 'per-session', idleShutdownMs: 1_000 } } }, async (gateway, connect) => {
      const client = await connect('isolated');
      const first = await pidOf(client, 'isolated');
      await eventually(async () => !(await isRunning(first)), 'the idle process to end');
      assert.ok(gateway.logs.some((line) => line.msg === 'session process idle; stopped' && line.pid === first));
      const second = await pidOf(client, 'isolated');
      assert.notEqual(second, first);
      assert.ok(await isRunning(second));
    });
  });

  test('a process over its memory ceiling is restarted between calls, and no call fails', TIMEOUT, async () => {
    const config = {
      upstreamDefaults: { memoryCheckIntervalMs: 200 },
      servers: { hungry: { ...supervised, isolation: 'shared', maxMemoryMb: 400 } },
    };
    await withGateway(config, async (gateway, connect) => {
      const client = await connect('hungry');
      const first = await pidOf(client, 'hungry');
      const grown = await client.callTool({ name: 'grow', arguments: { mb: 500 } });
      assert.notEqual(grown.isError, true, textOf(grown));
      // Calls go on while the supervisor notices; each one must succeed, and one reaches the replacement.
      let current = first;
      for (let attempt = 0; attempt < 1_000 && current === first; attempt++) current = await pidOf(client, 'hungry');
      assert.notEqual(current, first);
      await eventually(async () => !(await isRunning(first)), 'the grown process to end');
      const restart = gateway.logs.find((line) => line.msg === 'process over its memory ceiling; restarted between calls');
      assert.equal(restart?.pid, first);
      const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
      assert.match(metrics, /gatehouse_upstream_restarts_total\{server="hungry"\} 1/);
    });
  });

  test('a crash loop stops the restarts and marks the server down in /readyz; calls fail at once saying so', TIMEOUT, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-crash-loop-'));
    const startLog = join(dir, 'starts.log');
    const starts = async () => (await readFile(startLog, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
    const config = {
      upstreamDefaults: { restartBackoffMs: 100 },
      servers: {
        looping: crashLooping({ START_LOG: startLog }),
      },
    };
    try {
      await withGateway(config, async (gateway, connect) => {
        let readiness: { ready: boolean; servers: Record<string, { state: string; lastError?: string }> } | undefined;
        await eventually(async () => {
          const response = await fetch(`${gateway.url}/readyz`);
          readiness = (await response.json()) as typeof readiness;
          return readiness?.servers['looping']?.lastError?.includes('crash loop') === true;
        }, 'the crash loop to be reported');
        assert.equal(readiness!.ready, false);
        assert.equal(readiness!.servers['looping']!.state, 'down');
        // The first start and two restarts: the third exit made it a loop.
        assert.equal(await starts(), 3);

        const client = await connect('looping');
        const failed = await client.callTool({ name: 'echo', arguments: { text: 'hi' } }).catch((error: Error) => ({ isError: true, content: [{ type: 'text', text: error.message }] }));
        assert.equal(failed.isError, true);
        assert.match(textOf(failed), /crash loop/);
        // Many backoff periods later, still nothing spawned.
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        assert.equal(await starts(), 3);
        assert.deepEqual(await serverProcesses(gateway), []);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a crash-looping server\'s tool calls go to its fallback server: they were never sent', TIMEOUT, async () => {
    const config = {
      upstreamDefaults: { restartBackoffMs: 100 },
      servers: {
        looping: { ...crashLooping(), fallback: 'steady' },
        steady: { ...supervised, isolation: 'shared' },
      },
    };
    await withGateway(config, async (gateway, connect) => {
      await eventually(async () => {
        const readiness = (await (await fetch(`${gateway.url}/readyz`)).json()) as { servers: Record<string, { lastError?: string }> };
        return readiness.servers['looping']?.lastError?.includes('crash loop') === true;
      }, 'the crash loop to be reported');
      const client = await connect('looping');
      const steadyPid = await pidOf(await connect('steady'), 'steady');
      // `echo` carries no hints: only a call that was never sent may go to the fallback.
      const echoed = await client.callTool({ name: 'echo', arguments: { text: 'to the fallback' } });
      assert.notEqual(echoed.isError, true, textOf(echoed));
      assert.equal(textOf(echoed), 'to the fallback');
      assert.equal(await pidOf(client, 'looping'), steadyPid);
    });
  });

  test('a session\'s subscription and log level are set up again on the process that replaces its idle-stopped one', TIMEOUT, async () => {
    await withGateway({ servers: { isolated: { ...supervised, isolation: 'per-session', idleShutdownMs: 1_000 } } }, async (_gateway, connect) => {
      const client = await connect('isolated');
      const updates: string[] = [];
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
        updates.push(notification.params.uri);
      });
      await client.subscribeResource({ uri: 'note://state' });
      await client.setLoggingLevel('debug');
      const first = await pidOf(client, 'isolated');
      await eventually(async () => !(await isRunning(first)), 'the idle process to be stopped');
      assert.notEqual(await pidOf(client, 'isolated'), first);
      // The new process knows the level and the subscription only if the gateway set them up again.
      assert.equal(textOf(await client.callTool({ name: 'level', arguments: {} })), 'debug');
      assert.equal(textOf(await client.callTool({ name: 'touch', arguments: {} })), 'notified');
      await eventually(async () => updates.includes('note://state'), 'resources/updated from the new process');
    });
  });

  test('when a shared server process restarts, its sessions\' subscriptions are set up again without a call of theirs', TIMEOUT, async () => {
    await withGateway({ upstreamDefaults: { restartBackoffMs: 200 }, servers: { shared: { ...supervised, isolation: 'shared' } } }, async (_gateway, connect) => {
      const watcher = await connect('shared');
      const other = await connect('shared');
      const updates: string[] = [];
      watcher.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
        updates.push(notification.params.uri);
      });
      await watcher.subscribeResource({ uri: 'note://state' });
      const first = await pidOf(other, 'shared');
      process.kill(-first, 'SIGKILL');
      await eventually(async () => (await pidOf(other, 'shared').catch(() => first)) !== first, 'the restarted process to answer');
      // `watcher` sent nothing since: only the gateway can have subscribed it on the new process.
      assert.equal(textOf(await other.callTool({ name: 'touch', arguments: {} })), 'notified');
      await eventually(async () => updates.includes('note://state'), 'resources/updated from the restarted process');
    });
  });
});
