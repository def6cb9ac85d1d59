import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startNodeProcess, type NodeProcess } from '../fixtures/spawn-fixture.js';

export interface GatewayProcess extends NodeProcess {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Every JSON log line the gateway printed so far. */
  logs: Record<string, unknown>[];
  configFile: string;
}

/**
 * Starts the real gateway CLI (`gatehouse serve`) on a free loopback port with the given config and
 * resolves once it logs "gatehouse listening". The process group is killed by close().
 */
export async function startGateway(config: Record<string, unknown>, extraArgs: readonly string[] = []): Promise<GatewayProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-test-'));
  const configFile = join(dir, 'gatehouse.yaml');
  // Each gateway keeps its registry database in its own temp dir, removed by close().
  await writeFile(configFile, stringify({ log: { level: 'debug' }, dataDir: join(dir, 'data'), ...config }));
  const logs: Record<string, unknown>[] = [];
  const process = await startNodeProcess({
    script: 'src/cli/main.ts',
    args: ['serve', '--config', configFile, '--port', '0', ...extraArgs],
    onStdoutLine: (line) => {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    },
    urlFromStdoutLine: (line) => {
      if (!line.includes('gatehouse listening')) return undefined;
      return (JSON.parse(line) as { url: string }).url;
    },
  });
  return {
    ...process,
    logs,
    configFile,
    close: async () => {
      await process.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The command that runs @modelcontextprotocol/server-everything over stdio from node_modules. */
export const everythingStdio = {
  command: process.execPath,
  args: ['node_modules/@modelcontextprotocol/server-everything/dist/index.js', 'stdio'],
};

/** Resolves when `predicate` holds, polling an in-memory condition (not a timer-based sleep of the test). */
export async function waitFor(predicate: () => boolean, timeoutMs = 30_000, what = 'condition'): Promise<void> {
  const started = Date.now();
  while (!predicate()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
