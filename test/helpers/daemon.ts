// A server process the tests start and stop (redis-server, PostgreSQL): a free port, its own process
// group, its output kept for error messages, readiness polled, and a stop that ends the whole group.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface Daemon {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  /** The last 8000 characters it wrote (stdout and stderr). */
  readonly output: () => string;
}

/** A port the OS had free a moment ago (servers without a `--port 0` of their own). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port from listen(0)');
  return address.port;
}

/** Spawns `command` leading its own process group, so that stop reaches every process it starts. */
export function startDaemon(command: string, args: readonly string[], cwd: string): Daemon {
  const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (error) => {
      keep(Buffer.from(String(error)));
      resolve();
    });
  });
  return { child, exited, output: () => output };
}

/** Polls `ready` until it says yes ('ready'), the daemon exits ('exited'), or the deadline passes (throws). */
export async function waitUntilReady(daemon: Daemon, ready: () => Promise<boolean>, options: { deadlineMs: number; pauseMs: number; what: string }): Promise<'ready' | 'exited'> {
  let exited = false;
  void daemon.exited.then(() => {
    exited = true;
  });
  const deadline = Date.now() + options.deadlineMs;
  while (Date.now() < deadline) {
    if (exited) return 'exited';
    if (await ready()) return 'ready';
    // Between attempts, wake early if the server dies instead of waiting out the pause.
    await Promise.race([daemon.exited, new Promise((resolve) => setTimeout(resolve, options.pauseMs))]);
  }
  throw new Error(`${options.what} within ${options.deadlineMs / 1000} s:\n${daemon.output()}`);
}

/** Sends `signal` to the daemon's group, and SIGKILL if it has not exited after `deadlineMs`. */
export async function stopDaemon(daemon: Daemon, signal: NodeJS.Signals, deadlineMs: number): Promise<void> {
  const pid = daemon.child.pid;
  if (pid === undefined || daemon.child.exitCode !== null || daemon.child.signalCode !== null) return;
  const signalGroup = (sent: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sent);
    } catch {
      // Already gone.
    }
  };
  signalGroup(signal);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    daemon.exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), deadlineMs);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    signalGroup('SIGKILL');
    await daemon.exited;
  }
}
