// Starts the Gatehouse gateway for the benchmark, in front of one upstream named `bench`.
// Contract relied on: `gatehouse serve --config <file> --port 0` prints JSON log lines on stdout,
// one of them with "msg":"gatehouse listening" and a "url" field.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot, startNodeProcess, type NodeProcess } from '../test/fixtures/spawn-fixture.js';
import type { Endpoint } from './mcp-http-client.js';

export type GatewayEntry = 'auto' | 'src' | 'dist';

export interface StartedGateway {
  process: NodeProcess;
  /** e.g. http://127.0.0.1:PORT */
  baseUrl: string;
  /** Which file was run, relative to the repository. */
  entry: string;
  /** Where the echo tool may be reached, most specific first. */
  candidates: Endpoint[];
  close(): Promise<void>;
}

export interface GatewaySkipped {
  skipped: string;
}

const entries = { src: 'src/cli/main.ts', dist: 'dist/cli/main.js' } as const;

/** `auto` prefers src (run through tsx): a stale dist/ would silently measure yesterday's code. */
function chooseEntry(choice: GatewayEntry): string | undefined {
  const order = choice === 'auto' ? [entries.src, entries.dist] : [entries[choice]];
  return order.find((entry) => existsSync(join(repoRoot, entry)));
}

function listeningUrl(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const record = JSON.parse(line) as { msg?: unknown; url?: unknown };
    if (record.msg === 'gatehouse listening' && typeof record.url === 'string') return record.url.replace(/\/+$/, '');
  } catch {
    // Not a JSON log line.
  }
  return undefined;
}

export async function startGateway(
  upstreamUrl: string,
  options: {
    entry: GatewayEntry;
    nodeArgs: readonly string[];
    onStderrLine: (line: string) => void;
    /** YAML lines after `listen:`; the default serves the upstream as `bench` with every default on. */
    config?: readonly string[];
  },
): Promise<StartedGateway | GatewaySkipped> {
  const entry = chooseEntry(options.entry);
  if (entry === undefined) {
    return { skipped: `no gateway entry point (${options.entry === 'auto' ? `${entries.src} or ${entries.dist}` : entries[options.entry]}) exists yet` };
  }
  // Its own working directory, so whatever state the gateway keeps on disk stays out of the repo.
  const workDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
  const configPath = join(workDir, 'gatehouse.yaml');
  await writeFile(
    configPath,
    [
      'listen:', '  host: 127.0.0.1', '  port: 0',
      ...(options.config ?? ['servers:', '  bench:', `    url: ${JSON.stringify(upstreamUrl)}`]),
      '',
    ].join('\n'),
  );
  const stdoutTail: string[] = [];
  try {
    const gateway = await startNodeProcess({
      script: join(repoRoot, entry),
      args: ['serve', '--config', configPath, '--port', '0'],
      nodeArgs: options.nodeArgs,
      cwd: workDir,
      readyTimeoutMs: 90_000,
      urlFromStdoutLine: listeningUrl,
      onStdoutLine: (line) => {
        stdoutTail.push(line);
        if (stdoutTail.length > 20) stdoutTail.shift();
      },
      onStderrLine: options.onStderrLine,
    });
    return {
      process: gateway,
      baseUrl: gateway.url,
      entry,
      candidates: [
        { url: `${gateway.url}/servers/bench/mcp`, echoTool: 'echo' },
        { url: `${gateway.url}/mcp`, echoTool: 'bench__echo' },
      ],
      close: async () => {
        await gateway.close();
        await rm(workDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(workDir, { recursive: true, force: true });
    const stdout = stdoutTail.length > 0 ? `\n--- stdout tail ---\n${stdoutTail.join('\n')}` : '';
    return { skipped: `the gateway (${entry}) did not start: ${error instanceof Error ? error.message : String(error)}${stdout}` };
  }
}
