import { spawn } from 'node:child_process';
import { repoRoot, tsxImport } from '../fixtures/spawn-fixture.js';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `gatehouse <args>` from source and collects its output; killed if it outlives `timeoutMs`.
 * The CLI's own variables (GATEHOUSE_URL, GATEHOUSE_TOKEN) are cleared unless `env` sets them, so a
 * developer's shell cannot steer a test; `undefined` in `env` removes a variable.
 */
export function runCli(args: readonly string[], env: Readonly<Record<string, string | undefined>> = {}, timeoutMs = 60_000): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const childEnv: Record<string, string> = {};
    for (const [name, value] of Object.entries({ ...process.env, GATEHOUSE_URL: undefined, GATEHOUSE_TOKEN: undefined, ...env })) {
      if (value !== undefined) childEnv[name] = value;
    }
    // The test runner's marker would make a child node process report as a test.
    delete childEnv['NODE_TEST_CONTEXT'];
    const child = spawn(process.execPath, ['--import', tsxImport, 'src/cli/main.ts', ...args], { cwd: repoRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
