// A real redis-server for the tests, on 127.0.0.1 and a free port, in a temp dir it removes.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort, startDaemon, stopDaemon, waitUntilReady, type Daemon } from './daemon.js';

export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  /** Stops the server and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

// The CI machine is a loaded 2-core VM: be generous.
const READY_DEADLINE_MS = 30_000;
const STOP_DEADLINE_MS = 10_000;

/** redis-server from PATH, or Debian's /usr/bin/redis-server. */
export function findRedisServer(): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin']) {
    if (dir !== '' && existsSync(join(dir, 'redis-server'))) return join(dir, 'redis-server');
  }
  return undefined;
}

/**
 * Why the Redis tests cannot run here, or undefined when they can. Under CI a missing redis-server
 * is not a reason: CI must install it (.ci/run does), and startRedis then fails loudly.
 */
export function redisSkipReason(): string | undefined {
  if (findRedisServer() !== undefined || process.env.CI) return undefined;
  return 'redis-server is not installed (not in PATH or /usr/bin); install it to run the Redis counter-store tests';
}

/** One PING over a raw socket: true on +PONG (no client library, so the helper tests nothing of ours). */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

function startServer(binary: string, dir: string, port: number): Daemon {
  // No persistence: nothing to write, nothing left behind; loopback only.
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes'];
  return startDaemon(binary, args, dir);
}

/**
 * Starts redis-server; throws (never skips) when it cannot. `port`: that port (to start a server
 * again where a stopped one was), else a free one.
 */
export async function startRedis(options: { port?: number } = {}): Promise<RedisServer> {
  const binary = findRedisServer();
  if (binary === undefined) throw new Error('redis-server is not installed (not in PATH or /usr/bin). CI must install it (.ci/run does, from Debian packages).');
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-redis-'));
  try {
    // redis-server has no --port 0: take a port the OS had free, and try another if someone took it first.
    for (let attempt = 1; ; attempt += 1) {
      const port = options.port ?? (await freePort());
      const started = startServer(binary, dir, port);
      const state = await waitUntilReady(started, () => pings(port), { deadlineMs: READY_DEADLINE_MS, pauseMs: 50, what: 'redis-server did not answer PING' }).catch(async (error: unknown) => {
        await stopDaemon(started, 'SIGTERM', STOP_DEADLINE_MS);
        throw error;
      });
      if (state === 'ready') return serverHandle(port, started, dir);
      if (attempt >= 3 || options.port !== undefined || !/Address already in use|bind/i.test(started.output())) throw new Error(`redis-server exited while starting:\n${started.output()}`);
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function serverHandle(port: number, started: Daemon, dir: string): RedisServer {
  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop() {
      stopping ??= (async () => {
        await stopDaemon(started, 'SIGTERM', STOP_DEADLINE_MS);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}
