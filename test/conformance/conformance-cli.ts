/**
 * Finds, or installs once, the MCP conformance CLI and the Node it runs on.
 *
 * The CLI needs Node >= 22 and Gatehouse runs on Node 20, so both come from the npm registry: the
 * `node` package ships a prebuilt Node binary, `@modelcontextprotocol/conformance` the suite. They
 * are installed into a cache directory outside the work tree (one folder per suite version), through
 * npm's own shared download cache. After the first install nothing touches the network again: the
 * CLI is run straight from that folder.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The Node major the CLI is run on; 0.1.x and 0.2.x both declare engines node >= 22. */
const CLI_NODE_RANGE = '^22';
const INSTALL_TIMEOUT_MS = 10 * 60_000;
const READY_MARKER = '.gatehouse-ready';

export interface ConformanceCli {
  /** Absolute path of the Node 22 binary that runs the CLI. */
  readonly node: string;
  /** Absolute path of the CLI's entry script. */
  readonly entry: string;
  readonly suiteVersion: string;
}

export interface EnsureConformanceCliOptions {
  /** An exact npm version of @modelcontextprotocol/conformance, such as "0.1.16". */
  readonly suiteVersion: string;
  /** Defaults to $GATEHOUSE_CONFORMANCE_CACHE, then ~/.cache/gatehouse/conformance. */
  readonly cacheDir?: string;
  readonly installTimeoutMs?: number;
}

export function defaultConformanceCacheDir(): string {
  return process.env['GATEHOUSE_CONFORMANCE_CACHE'] ?? join(homedir(), '.cache', 'gatehouse', 'conformance');
}

function cliPaths(dir: string, suiteVersion: string): ConformanceCli {
  return {
    node: join(dir, 'node_modules', 'node', 'bin', 'node'),
    entry: join(dir, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js'),
    suiteVersion,
  };
}

interface ProcessOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/**
 * Runs a command in its own process group and kills the whole group when it ends or times out, so
 * no grandchild (npm's lifecycle scripts, the CLI's helpers) outlives the call.
 */
export function runProcessGroup(
  command: string,
  args: readonly string[],
  options: { readonly cwd: string; readonly timeoutMs: number; readonly env?: NodeJS.ProcessEnv },
): Promise<ProcessOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // The group is already gone.
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, options.timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      killGroup();
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

async function nodeVersionOf(node: string, cwd: string): Promise<string | undefined> {
  if (!existsSync(node)) return undefined;
  const outcome = await runProcessGroup(node, ['--version'], { cwd, timeoutMs: 60_000 });
  return outcome.code === 0 ? outcome.stdout.trim() : undefined;
}

/** npm exports its own settings (prefix, package paths) to scripts; a nested install must not inherit them. */
function envWithoutNpmScriptSettings(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const inherited = key.startsWith('npm_') && key !== 'npm_config_cache' && key !== 'npm_config_registry';
    if (!inherited) env[key] = value;
  }
  return env;
}

async function install(stagingDir: string, suiteVersion: string, timeoutMs: number): Promise<void> {
  await writeFile(
    join(stagingDir, 'package.json'),
    `${JSON.stringify(
      {
        name: 'gatehouse-conformance-cli',
        private: true,
        description: 'Installed by test/conformance/conformance-cli.ts; safe to delete.',
        dependencies: { '@modelcontextprotocol/conformance': suiteVersion, node: CLI_NODE_RANGE },
      },
      null,
      2,
    )}\n`,
  );
  // --prefer-offline: a tarball already in npm's cache is used without asking the registry.
  const outcome = await runProcessGroup(
    'npm',
    ['install', '--prefix', stagingDir, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'],
    { cwd: stagingDir, timeoutMs, env: envWithoutNpmScriptSettings() },
  );
  if (outcome.code !== 0) {
    const why = outcome.timedOut ? `timed out after ${timeoutMs} ms` : `exited ${String(outcome.code ?? outcome.signal)}`;
    throw new Error(`npm install of the conformance CLI ${suiteVersion} ${why}:\n${outcome.stderr.slice(-4000)}`);
  }
}

async function verify(dir: string, suiteVersion: string): Promise<ConformanceCli> {
  const cli = cliPaths(dir, suiteVersion);
  const version = await nodeVersionOf(cli.node, dir);
  // The `node` package fetches its binary in a preinstall script; an npm that refuses install
  // scripts leaves a stub behind, which must fail here rather than in the middle of a test.
  if (version === undefined || !version.startsWith('v22.')) {
    throw new Error(`the node package in ${dir} did not provide a Node 22 binary (got ${version ?? 'nothing'})`);
  }
  if (!existsSync(cli.entry)) throw new Error(`the conformance CLI is missing from ${dir}`);
  return cli;
}

/**
 * Returns a ready CLI for `suiteVersion`, installing it on first use. Safe to call from several
 * processes at once: each installs into its own staging folder and the first rename wins.
 */
export async function ensureConformanceCli(options: EnsureConformanceCliOptions): Promise<ConformanceCli> {
  const { suiteVersion } = options;
  // The version becomes a folder name and an npm spec: keep it to what npm versions look like.
  if (!/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/.test(suiteVersion)) {
    throw new Error(`suiteVersion must be an exact npm version, got "${suiteVersion}"`);
  }
  const cacheDir = options.cacheDir ?? defaultConformanceCacheDir();
  const dir = join(cacheDir, `conformance-${suiteVersion}`);
  if (existsSync(join(dir, READY_MARKER))) return cliPaths(dir, suiteVersion);

  await mkdir(cacheDir, { recursive: true });
  const stagingDir = await mkdtemp(join(cacheDir, `.staging-${suiteVersion}-`));
  try {
    await chmod(stagingDir, 0o755); // mkdtemp makes it private; the installed CLI is not secret.
    await install(stagingDir, suiteVersion, options.installTimeoutMs ?? INSTALL_TIMEOUT_MS);
    await verify(stagingDir, suiteVersion);
    await writeFile(join(stagingDir, READY_MARKER), `${new Date().toISOString()}\n`);
    try {
      await rename(stagingDir, dir);
    } catch (error) {
      // Another process finished first (the target exists and is not empty); theirs is as good.
      if (!existsSync(join(dir, READY_MARKER))) throw error;
    }
  } finally {
    await rm(stagingDir, { recursive: true, force: true });
  }
  return verify(dir, suiteVersion);
}
