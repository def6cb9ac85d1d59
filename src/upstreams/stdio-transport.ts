import { spawn, type ChildProcess } from 'node:child_process';
import { lineSplitter } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import { toMessage, type JsonRpcMessage } from '../protocol/index.js';
import { ProcessReaper } from './process-reaper.js';
import type { MessageSink, UpstreamTransport } from './transport.js';

/** Variables a child needs to run at all; nothing else of the gateway's environment leaks to it. */
const SAFE_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TERM', 'LANG', 'LC_ALL', 'TMPDIR', 'TZ', 'SystemRoot'];

export interface StdioOptions {
  command: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd?: string | undefined;
  logger: Logger;
  /** Grace period between SIGTERM and SIGKILL for the process group. */
  killGraceMs?: number;
}

export function childEnvironment(extra: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of SAFE_ENV) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

/** One child process speaking newline-delimited JSON-RPC on stdin/stdout (spec §Transports, stdio). */
export class StdioTransport implements UpstreamTransport {
  readonly kind = 'stdio';
  private child: ChildProcess | undefined;
  private closed = false;
  private exited: Promise<void> | undefined;

  constructor(private readonly options: StdioOptions) {}

  /** The process's id (the leader of its group) once spawned. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(sink: MessageSink, onClose: (reason: Error | undefined) => void): Promise<void> {
    const { command, args, env, cwd, logger } = this.options;
    return new Promise((resolve, reject) => {
      // detached: the child leads its own process group, so close() can kill grandchildren too (npx → node).
      const child = spawn(command, args, {
        env: childEnvironment(env),
        cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        detached: true,
        shell: false,
        windowsHide: true,
      });
      this.child = child;
      this.exited = new Promise((done) => child.once('close', () => done()));
      child.once('error', (error) => {
        reject(error);
        onClose(error);
      });
      child.once('spawn', () => {
        if (child.pid !== undefined) ProcessReaper.shared().watch(child.pid);
        resolve();
      });
      child.once('exit', (code, signal) => {
        if (!this.closed && child.pid !== undefined) {
          // What the crashed leader left running in its group goes with it, then the group is forgotten.
          killGroup(child.pid, 'SIGKILL');
          ProcessReaper.shared().unwatch(child.pid);
        }
        if (!this.closed) onClose(new Error(`process exited (${signal ?? `code ${code}`})`));
      });
      child.stdin?.on('error', () => {
        // EPIPE after the child died; the exit handler reports it.
      });
      readLines(child.stdout!, (line) => {
        let message: JsonRpcMessage;
        try {
          message = toMessage(JSON.parse(line));
        } catch {
          logger.warn({ line: line.slice(0, 200) }, 'upstream wrote a line that is not JSON-RPC; ignored');
          return;
        }
        sink(message, undefined);
      }, () => logger.warn('upstream wrote a line longer than 64 MiB on stdout; dropped'));
      readLines(child.stderr!, (line) => logger.info({ stderr: line }, 'upstream stderr'), () => undefined);
    });
  }

  send(message: JsonRpcMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (!stdin || stdin.destroyed || this.closed) return Promise.reject(new Error('process is not running'));
    stdin.write(`${JSON.stringify(message)}\n`);
    return Promise.resolve();
  }

  setProtocolVersion(): void {}

  async close(): Promise<void> {
    if (this.closed) return this.exited;
    this.closed = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    child.stdin?.end();
    killGroup(child.pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), this.options.killGraceMs ?? 2_000);
    await this.exited;
    clearTimeout(timer);
    // The leader may be gone while members of its group live on.
    killGroup(child.pid, 'SIGKILL');
    ProcessReaper.shared().unwatch(child.pid);
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** A server that writes a line longer than this (64 MiB) is broken; the line is dropped, not buffered forever. */
const MAX_LINE_LENGTH = 64 * 1024 * 1024;

function readLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void, onOverflow: () => void): void {
  stream.setEncoding('utf8');
  stream.on('data', lineSplitter(onLine, MAX_LINE_LENGTH, onOverflow));
}
