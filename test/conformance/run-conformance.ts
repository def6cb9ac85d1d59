/**
 * Runs the official MCP conformance suite's server scenarios against a Streamable HTTP URL and
 * reports which scenarios passed.
 *
 * The CLI is asked to write its machine-readable results (`--output-dir`: one
 * `server-<scenario>-<timestamp>/checks.json` per scenario, an array of checks with a status of
 * SUCCESS, FAILURE, WARNING, INFO or, in 0.2.x, SKIPPED). Those files are the verdict; the CLI's
 * stdout and stderr are read only for what the files cannot say: which scenarios the suite meant
 * to run, which it skipped, and why a scenario that crashed left no file behind. A scenario passes, as in the CLI itself, when none of
 * its checks is a FAILURE; its WARNINGs are reported separately.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ensureConformanceCli, runProcessGroup } from './conformance-cli.js';

export interface ConformanceRunOptions {
  /** The Streamable HTTP endpoint under test, e.g. http://127.0.0.1:PORT/mcp. */
  readonly url: string;
  /** Exact version of @modelcontextprotocol/conformance, e.g. "0.1.16". */
  readonly suiteVersion: string;
  /** Run just these scenarios, one CLI run each. Omitted: run `suite`. */
  readonly scenarios?: readonly string[];
  /** The CLI's --suite when `scenarios` is omitted: "all", "pending", ...; the CLI's default is "active". */
  readonly suite?: string;
  /** More CLI arguments, e.g. ['--spec-version', '2025-11-25'] or ['--requirements', '2026-07-28']. */
  readonly extraArgs?: readonly string[];
  /** Limit for one CLI run (the whole suite, or one scenario). */
  readonly timeoutMs?: number;
  /** Where the CLI is installed; see ensureConformanceCli. */
  readonly cacheDir?: string;
}

export interface ScenarioProblem {
  readonly name: string;
  readonly detail: string;
}

export interface ConformanceResult {
  readonly passed: string[];
  readonly failed: ScenarioProblem[];
  /** Scenarios that passed but had WARNING checks (SHOULD-level findings). */
  readonly warnings: ScenarioProblem[];
  /** Scenarios the CLI skipped as not applicable (0.2.x with --spec-version). */
  readonly skipped: string[];
}

const CheckSchema = z.object({
  id: z.string(),
  name: z.string().optional(),
  description: z.string().optional(),
  status: z.string(),
  errorMessage: z.string().optional(),
});
const ChecksFileSchema = z.array(CheckSchema);
type Check = z.infer<typeof CheckSchema>;

const DEFAULT_TIMEOUT_MS = 10 * 60_000;
const RESULT_DIR = /^server-(.+)-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z)$/;

function describeChecks(checks: readonly Check[]): string {
  return checks.map((check) => `${check.id}: ${check.errorMessage ?? check.description ?? check.name ?? ''}`).join('; ');
}

/** Reads every checks.json under `outputDir`, keyed by scenario; a scenario run twice keeps its last run. */
async function readResultFiles(outputDir: string): Promise<Map<string, Check[]>> {
  const byScenario = new Map<string, { stamp: string; checks: Check[] }>();
  for (const entry of await readdir(outputDir, { withFileTypes: true })) {
    const match = entry.isDirectory() ? RESULT_DIR.exec(entry.name) : null;
    const scenario = match?.[1];
    const stamp = match?.[2];
    if (scenario === undefined || stamp === undefined) continue;
    let raw: string;
    try {
      raw = await readFile(join(outputDir, entry.name, 'checks.json'), 'utf8');
    } catch {
      continue; // A skipped scenario leaves an empty folder.
    }
    const checks = ChecksFileSchema.parse(JSON.parse(raw));
    const previous = byScenario.get(scenario);
    if (previous === undefined || previous.stamp < stamp) byScenario.set(scenario, { stamp, checks });
  }
  return new Map([...byScenario].map(([scenario, { checks }]) => [scenario, checks]));
}

interface SuiteTranscript {
  /** Scenarios in the order the CLI announced them. */
  readonly announced: string[];
  /** N in "Running <suite> suite (N scenarios)", when printed. */
  readonly announcedCount: number | undefined;
  readonly skipped: string[];
  /** Lines from the CLI's own summary, e.g. "✗ tools-list: 0 passed, 1 failed". */
  readonly summaryLines: Map<string, string>;
}

/** The CLI prints "Failed to run scenario NAME: <error>" to stderr when a scenario throws. */
function readCrashes(stderr: string): Map<string, string> {
  const crashes = new Map<string, string>();
  const lines = stderr.split('\n');
  lines.forEach((line, index) => {
    const crash = /^Failed to run scenario (\S+): ?(.*)$/.exec(line);
    if (crash?.[1] === undefined) return;
    const message = [crash[2], ...lines.slice(index + 1, index + 3)].filter((part) => part !== undefined && part.trim() !== '');
    crashes.set(crash[1], message.join(' ').trim());
  });
  return crashes;
}

function readTranscript(stdout: string): SuiteTranscript {
  const announced: string[] = [];
  const skipped: string[] = [];
  const summaryLines = new Map<string, string>();
  let announcedCount: number | undefined;
  for (const line of stdout.split('\n')) {
    const running = /^=== Running scenario: (\S+) ===$/.exec(line);
    if (running?.[1] !== undefined) announced.push(running[1]);
    const count = /^Running .* \((\d+) scenarios\)/.exec(line);
    if (count?.[1] !== undefined) announcedCount = Number(count[1]);
    const skip = /^SKIPPED: scenario '([^']+)'/.exec(line);
    if (skip?.[1] !== undefined) skipped.push(skip[1]);
    const summary = /^[✓✗] (\S+): \d+ passed, \d+ failed/.exec(line);
    if (summary?.[1] !== undefined) summaryLines.set(summary[1], line);
  }
  return { announced, announcedCount, skipped, summaryLines };
}

async function runCli(
  options: ConformanceRunOptions,
  selection: readonly string[],
  outputDir: string,
): Promise<{ stdout: string; stderr: string; exit: string }> {
  const cli = await ensureConformanceCli({
    suiteVersion: options.suiteVersion,
    ...(options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir }),
  });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const args = [cli.entry, 'server', '--url', options.url, '--output-dir', outputDir, ...selection, ...(options.extraArgs ?? [])];
  // cwd is the scratch folder so nothing the CLI writes lands in the work tree.
  const outcome = await runProcessGroup(cli.node, args, { cwd: outputDir, timeoutMs });
  const exit = outcome.timedOut
    ? `killed after ${timeoutMs} ms`
    : `exit ${String(outcome.code ?? outcome.signal)}`;
  return { stdout: outcome.stdout, stderr: outcome.stderr, exit };
}

const tail = (text: string, lines = 15): string => text.trim().split('\n').slice(-lines).join('\n');

export async function runConformance(options: ConformanceRunOptions): Promise<ConformanceResult> {
  const outputDir = await mkdtemp(join(tmpdir(), 'gatehouse-conformance-'));
  try {
    const expected: string[] = [];
    const skipped: string[] = [];
    const summaryLines = new Map<string, string>();
    const crashes = new Map<string, string>();
    const crashNotes: string[] = [];

    // Without --suite the CLI runs its default ("active"); 0.2.x refuses --suite with --requirements.
    const runs = options.scenarios === undefined
      ? [options.suite === undefined ? [] : ['--suite', options.suite]]
      : options.scenarios.map((scenario) => ['--scenario', scenario]);
    for (const selection of runs) {
      const { stdout, stderr, exit } = await runCli(options, selection, outputDir);
      const transcript = readTranscript(stdout);
      const single = selection[0] === '--scenario' ? selection[1] : undefined;
      expected.push(...(single === undefined ? transcript.announced : [single]));
      skipped.push(...transcript.skipped);
      for (const [name, line] of transcript.summaryLines) summaryLines.set(name, line);
      for (const [name, message] of readCrashes(stderr)) crashes.set(name, message);
      if (transcript.announcedCount !== undefined && transcript.announcedCount !== transcript.announced.length) {
        crashNotes.push(`the CLI announced ${transcript.announcedCount} scenarios but ran ${transcript.announced.length}`);
      }
      if (exit !== 'exit 0' && exit !== 'exit 1') crashNotes.push(`${exit}\n${tail(stderr || stdout)}`);
      else if (single !== undefined && exit === 'exit 1') crashNotes.push(`${single}: ${tail(stderr || stdout, 5)}`);
    }

    const results = await readResultFiles(outputDir);
    const passed: string[] = [];
    const failed: ScenarioProblem[] = [];
    const warnings: ScenarioProblem[] = [];
    for (const name of new Set(expected)) {
      if (skipped.includes(name)) continue;
      const checks = results.get(name);
      if (checks === undefined) {
        const note = crashes.get(name) ?? summaryLines.get(name) ?? crashNotes.join('\n');
        failed.push({ name, detail: `no results were written${note === '' ? '' : `: ${note}`}` });
        continue;
      }
      const failures = checks.filter((check) => check.status === 'FAILURE');
      const warned = checks.filter((check) => check.status === 'WARNING');
      if (failures.length > 0) failed.push({ name, detail: describeChecks(failures) });
      else passed.push(name);
      if (warned.length > 0) warnings.push({ name, detail: describeChecks(warned) });
    }
    if (expected.length === 0 || crashNotes.some((note) => note.startsWith('the CLI announced'))) {
      failed.push({ name: '(runner)', detail: crashNotes.join('\n') || 'the CLI ran no scenario' });
    }
    return { passed, failed, warnings, skipped };
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}
