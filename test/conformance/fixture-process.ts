/**
 * Starts test/fixtures/conformance-server.ts as a child process, the way a gateway upstream or the
 * conformance CLI would meet it: HTTP mode on an OS-chosen loopback port, ready when it prints its
 * URL line. Each instance owns its process group and kills all of it on close().
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const CONFORMANCE_FIXTURE_PATH = fileURLToPath(new URL('../fixtures/conformance-server.ts', import.meta.url));

/** argv for the fixture in stdio mode, e.g. for a gateway config's stdio upstream. */
export const CONFORMANCE_FIXTURE_STDIO_COMMAND: readonly string[] = [
  process.execPath,
  '--import',
  'tsx',
  CONFORMANCE_FIXTURE_PATH,
  '--stdio',
];

export interface FixtureProcess {
  readonly url: string;
  readonly pid: number;
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;

function killGroup(child: { readonly pid?: number | undefined }, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

export async function startConformanceFixture(readyTimeoutMs = READY_TIMEOUT_MS): Promise<FixtureProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CONFORMANCE_FIXTURE_PATH, '--http', '--port', '0'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    killGroup(child, 'SIGKILL'); // anything left in the group
  };

  try {
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      const fail = (why: string): void => {
        clearTimeout(timer);
        lines.close();
        reject(new Error(`conformance fixture ${why}\n${stderr}`));
      };
      const timer = setTimeout(() => fail(`printed no URL within ${readyTimeoutMs} ms`), readyTimeoutMs);
      child.once('exit', (code, signal) => fail(`exited early (${String(code ?? signal)})`));
      child.once('error', (error) => fail(`could not start: ${error.message}`));
      lines.once('line', (line) => {
        clearTimeout(timer);
        try {
          const parsed: unknown = JSON.parse(line);
          const value = typeof parsed === 'object' && parsed !== null ? (parsed as { url?: unknown }).url : undefined;
          if (typeof value !== 'string') throw new Error('no url');
          resolve(value);
        } catch {
          fail(`printed an unexpected first line: ${line}`);
        }
      });
    });
    return { url, pid: child.pid ?? -1, close };
  } catch (error) {
    await close();
    throw error;
  }
}
