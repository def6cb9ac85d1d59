// `npm run bench`: the cost of Gatehouse on the hot path, measured against the same upstream reached
// directly and through a bare pass-through proxy, in one run on one machine. See docs/benchmarks.md.
//
//   npm run bench [-- --json] [--quick] [--rounds 3] [--round-ms 2000] [--round-calls 20000]
//                 [--concurrency 1,16,64] [--sessions 500] [--no-gateway] [--gateway-entry auto|src|dist]
//                 [--upstream-json-response] [--variants plain,limits,routing,tracing]
import { fork, type ChildProcess } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fixturePath, startHttpFixture, startNodeProcess, tsxImport, type NodeProcess } from '../test/fixtures/spawn-fixture.js';
import { startGateway, type GatewayEntry } from './gateway-process.js';
import type { PrepareResult, RoundResult, WorkerReply, WorkerRequest } from './load-worker.js';
import type { Endpoint } from './mcp-http-client.js';
import { clockTicksPerSecond, cpuTicks, inspectorUrlFromLine, memoryAfterGc, type MemorySample } from './process-stats.js';
import { concatSorted, fixed, formatTable, percentile, signed } from './stats.js';
import { startOtlpSink } from './otlp-sink.js';
import { variantsNamed, type GatewayVariant } from './variants.js';

const { values: flags } = parseArgs({
  strict: true,
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    'round-ms': { type: 'string' },
    'round-calls': { type: 'string' },
    concurrency: { type: 'string', default: '1,16,64' },
    sessions: { type: 'string' },
    'no-gateway': { type: 'boolean', default: false },
    'gateway-entry': { type: 'string', default: 'auto' },
    'upstream-json-response': { type: 'boolean', default: false },
    // More gateways, each with one feature switched, measured in the same rounds (bench/variants.ts); '' for none.
    variants: { type: 'string', default: 'plain,limits,routing,tracing' },
  },
});

function positiveInteger(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return value;
}

const settings = {
  rounds: positiveInteger('rounds', flags.rounds, flags.quick ? 1 : 3),
  roundMs: positiveInteger('round-ms', flags['round-ms'], flags.quick ? 1_000 : 2_000),
  roundCalls: positiveInteger('round-calls', flags['round-calls'], 20_000),
  concurrencies: flags.concurrency.split(',').map((text) => positiveInteger('concurrency', text, 1)),
  idleSessions: positiveInteger('sessions', flags.sessions, flags.quick ? 200 : 500),
  // Long enough for V8 to finish optimising both middle processes: a 600 ms warm-up left the
  // gateway's JIT compiles (~1.3 s of compile time over its first 3 000 calls, measured with
  // --trace-opt) inside the first measured C=1 rounds.
  warmupMs: flags.quick ? 300 : 3000,
  listCalls: flags.quick ? 50 : 100,
  listMs: flags.quick ? 500 : 1_000,
  gateway: !flags['no-gateway'],
  gatewayEntry: flags['gateway-entry'] as GatewayEntry,
  upstreamJsonResponse: flags['upstream-json-response'],
  variants: variantsNamed(flags.variants),
};
if (!['auto', 'src', 'dist'].includes(settings.gatewayEntry)) throw new Error('--gateway-entry is auto, src or dist');
const maxConcurrency = Math.max(...settings.concurrencies);

const report = flags.json ? process.stderr : process.stdout;
const progress = (message: string): void => {
  process.stderr.write(`bench: ${message}\n`);
};

interface Target {
  /** direct, bare-proxy, gateway, or gateway-<variant>. */
  name: string;
  variant?: GatewayVariant;
  candidates: Endpoint[];
  /** The process between the load generator and bench-server, if any. */
  middle: { pid: number; inspectorUrl: () => string | undefined } | undefined;
  endpoint?: Endpoint;
}

interface Accumulated {
  latencies: Float64Array[];
  calls: number;
  errors: number;
  firstError: string | undefined;
  elapsedMs: number;
  middleTicks: number;
  serverTicks: number;
  loadTicks: number;
  /** The middle process's CPU per call in each round, µs (for ratios taken round by round). */
  middleUsPerCallByRound: number[];
  toolCount?: number;
  replyBytes?: number;
}

/** RPC to the forked load generator. */
class LoadWorker {
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 1;

  constructor() {
    this.#child = fork(fileURLToPath(new URL('./load-worker.ts', import.meta.url)), [], {
      execArgv: ['--import', tsxImport],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.#child.on('message', (reply: WorkerReply) => {
      const waiter = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (reply.ok) waiter?.resolve(reply.result);
      else waiter?.reject(new Error(reply.error));
    });
    // Send failures reach call() through the send callback; this only keeps them from being unhandled.
    this.#child.on('error', () => {});
    this.#child.on('exit', (code, signal) => {
      for (const waiter of this.#pending.values()) waiter.reject(new Error(`load worker exited (${code ?? signal})`));
      this.#pending.clear();
    });
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  call<T>(request: WorkerRequest): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (!this.#child.connected) {
        reject(new Error('the load worker is gone'));
        return;
      }
      const id = this.#nextId++;
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.#child.send({ id, request }, (error) => {
        if (error === null) return;
        this.#pending.delete(id);
        reject(error);
      });
    });
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    await this.call({ command: 'stop' }).catch(() => undefined);
    if (this.#child.connected) this.#child.disconnect();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

const cleanups: Array<() => Promise<void>> = [];
let cleaning: Promise<void> | undefined;
/** Idempotent: a signal during the normal cleanup waits for that cleanup instead of racing it. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    // Reverse order of start: the load generator, then the gateway, then the proxy, then the upstream.
    for (const close of cleanups.splice(0).reverse()) await close().catch((error: unknown) => progress(`cleanup: ${String(error)}`));
  })();
  return cleaning;
}
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    stopping = true;
    progress(`${signal}: stopping`);
    void cleanUp().finally(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  const ticksPerSecond = clockTicksPerSecond();
  const startedAt = new Date();
  const loadAtStart = loadavg();
  progress(`node ${process.version}, ${cpus().length} CPUs, load average ${loadAtStart.map((load) => load.toFixed(2)).join(' ')}`);

  let serverInspector: string | undefined;
  const server: NodeProcess = await startNodeProcess({
    script: fixturePath('bench-server.ts'),
    args: ['--http', '--port', '0', ...(settings.upstreamJsonResponse ? ['--json-response'] : [])],
    // Only used at the end, to force a GC before each memory sample; idle otherwise.
    nodeArgs: ['--inspect=127.0.0.1:0'],
    onStderrLine: (line) => {
      serverInspector ??= inspectorUrlFromLine(line);
    },
  });
  cleanups.push(() => server.close());
  progress(`bench-server at ${server.url} (pid ${server.pid})`);

  const proxy = await startHttpFixture(fileURLToPath(new URL('./bare-proxy.ts', import.meta.url)), ['--target', server.url]);
  cleanups.push(() => proxy.close());
  progress(`bare proxy at ${proxy.url} (pid ${proxy.pid})`);

  const targets: Target[] = [
    { name: 'direct', candidates: [{ url: server.url, echoTool: 'echo' }], middle: undefined },
    { name: 'bare-proxy', candidates: [{ url: proxy.url, echoTool: 'echo' }], middle: { pid: proxy.pid, inspectorUrl: () => undefined } },
  ];

  let gatewayStatus: { measured: true; entry: string; endpoint?: Endpoint } | { measured: false; reason: string };
  if (!settings.gateway) {
    gatewayStatus = { measured: false, reason: '--no-gateway' };
  } else {
    let gatewayInspector: string | undefined;
    const gateway = await startGateway(server.url, {
      entry: settings.gatewayEntry,
      nodeArgs: ['--inspect=127.0.0.1:0'],
      onStderrLine: (line) => {
        gatewayInspector ??= inspectorUrlFromLine(line);
      },
    });
    if ('skipped' in gateway) {
      gatewayStatus = { measured: false, reason: gateway.skipped };
    } else {
      cleanups.push(() => gateway.close());
      progress(`gateway (${gateway.entry}) at ${gateway.baseUrl} (pid ${gateway.process.pid})`);
      gatewayStatus = { measured: true, entry: gateway.entry };
      targets.push({ name: 'gateway', candidates: gateway.candidates, middle: { pid: gateway.process.pid, inspectorUrl: () => gatewayInspector } });
      const sink = settings.variants.length > 0 ? await startOtlpSink() : undefined;
      if (sink !== undefined) cleanups.push(() => sink.close());
      for (const variant of settings.variants) {
        // The same gateway with one feature switched, in the same interleaved rounds: the ratio of
        // their CPU per call is what the feature costs.
        const name = `gateway-${variant.name}`;
        // Started like the default gateway (with an idle inspector, which the memory measurement needs
        // of that one), so that the comparison is of the feature alone.
        const started = await startGateway(server.url, { entry: settings.gatewayEntry, nodeArgs: ['--inspect=127.0.0.1:0'], onStderrLine: () => {}, config: variant.config(server.url, sink!.url) });
        if ('skipped' in started) progress(`${name} skipped: ${started.skipped.split('\n')[0]}`);
        else {
          cleanups.push(() => started.close());
          progress(`${name} at ${started.baseUrl} (pid ${started.process.pid})`);
          targets.push({ name, variant, candidates: started.candidates, middle: { pid: started.process.pid, inspectorUrl: () => undefined } });
        }
      }
    }
  }

  const worker = new LoadWorker();
  cleanups.push(() => worker.close());

  for (const target of [...targets]) {
    try {
      const prepared = await worker.call<PrepareResult>({ command: 'prepare', target: target.name, candidates: target.candidates, sessions: maxConcurrency });
      target.endpoint = prepared.endpoint;
      for (const reason of prepared.rejected) progress(`${target.name}: skipped endpoint ${reason}`);
      progress(`${target.name}: ${maxConcurrency} sessions open at ${prepared.endpoint.url} (tool ${prepared.endpoint.echoTool}${prepared.stateful ? '' : ', stateless'})`);
    } catch (error) {
      if (target.variant !== undefined) {
        progress(`${target.name} skipped: ${error instanceof Error ? error.message : String(error)}`);
        targets.splice(targets.indexOf(target), 1);
        continue;
      }
      if (target.name !== 'gateway') throw error;
      gatewayStatus = { measured: false, reason: `the gateway started but does not serve the echo tool: ${error instanceof Error ? error.message : String(error)}` };
      targets.splice(targets.indexOf(target), 1);
    }
  }
  if (gatewayStatus.measured) {
    const gatewayEndpoint = targets.find((target) => target.name === 'gateway')?.endpoint;
    if (gatewayEndpoint !== undefined) gatewayStatus.endpoint = gatewayEndpoint;
  } else {
    progress(`GATEWAY SKIPPED: ${gatewayStatus.reason}`);
    progress('measuring direct and bare-proxy only');
  }

  // Warm-up: JIT, connection pools and session state on every target; results discarded.
  for (const concurrency of settings.concurrencies) {
    for (const target of targets) {
      await worker.call<RoundResult>({ command: 'round', target: target.name, operation: 'echo', concurrency, maxCalls: settings.roundCalls, maxMs: settings.warmupMs });
    }
  }

  const measure = async (target: Target, request: WorkerRequest & { command: 'round' }, into: Accumulated): Promise<RoundResult> => {
    const pids = [target.middle?.pid, server.pid, worker.pid];
    const before = await Promise.all(pids.map((pid) => (pid === undefined ? undefined : cpuTicks(pid))));
    const result = await worker.call<RoundResult>(request);
    const after = await Promise.all(pids.map((pid) => (pid === undefined ? undefined : cpuTicks(pid))));
    const delta = (index: number): number => (after[index] ?? 0) - (before[index] ?? 0);
    into.latencies.push(result.latenciesMs);
    into.calls += result.calls;
    into.errors += result.errors;
    into.firstError ??= result.firstError;
    into.elapsedMs += result.elapsedMs;
    into.middleTicks += delta(0);
    if (result.calls > 0) into.middleUsPerCallByRound.push((delta(0) / ticksPerSecond / result.calls) * 1e6);
    into.serverTicks += delta(1);
    into.loadTicks += delta(2);
    if (result.toolCount !== undefined) into.toolCount = result.toolCount;
    if (result.replyBytes !== undefined) into.replyBytes = result.replyBytes;
    return result;
  };
  const emptyAccumulated = (): Accumulated => ({ latencies: [], calls: 0, errors: 0, firstError: undefined, elapsedMs: 0, middleTicks: 0, serverTicks: 0, loadTicks: 0, middleUsPerCallByRound: [] });

  // Interleaved rounds: every target sees the same machine conditions, and the order rotates so no
  // target always runs right after another one's burst.
  const echoResults = new Map<string, Accumulated>();
  const key = (target: string, concurrency: number): string => `${target}@${concurrency}`;
  for (let round = 0; round < settings.rounds; round++) {
    for (const [concurrencyIndex, concurrency] of settings.concurrencies.entries()) {
      const rotation = (round + concurrencyIndex) % targets.length;
      for (const target of [...targets.slice(rotation), ...targets.slice(0, rotation)]) {
        const accumulated = echoResults.get(key(target.name, concurrency)) ?? emptyAccumulated();
        echoResults.set(key(target.name, concurrency), accumulated);
        const result = await measure(target, { command: 'round', target: target.name, operation: 'echo', concurrency, maxCalls: settings.roundCalls, maxMs: settings.roundMs }, accumulated);
        progress(
          `round ${round + 1}/${settings.rounds} c=${concurrency} ${target.name}: ${fixed((result.calls / result.elapsedMs) * 1000, 0)} calls/s` +
            (result.errors > 0 ? `, ${result.errors} errors (${result.firstError})` : ''),
        );
      }
    }
  }

  const listResults = new Map<string, Accumulated>();
  for (let round = 0; round < settings.rounds; round++) {
    for (const target of round % 2 === 0 ? targets : [...targets].reverse()) {
      const accumulated = listResults.get(target.name) ?? emptyAccumulated();
      listResults.set(target.name, accumulated);
      await measure(target, { command: 'round', target: target.name, operation: 'list', concurrency: 1, maxCalls: settings.listCalls, maxMs: settings.listMs }, accumulated);
    }
  }
  progress('tools/list measured');

  const upstreamSessions = async (): Promise<number | undefined> => {
    try {
      const stats = (await (await fetch(new URL('/stats', server.url))).json()) as { sessions?: unknown };
      return typeof stats.sessions === 'number' ? stats.sessions : undefined;
    } catch {
      return undefined;
    }
  };
  const memoryRows: MemoryRow[] = [];
  const measureMemory = async (target: Target, processName: string, pid: number, inspectorUrl: () => string | undefined): Promise<void> => {
    const before = await memoryAfterGc(pid, inspectorUrl());
    const serverBefore = target.name === 'direct' ? undefined : await memoryAfterGc(server.pid, serverInspector);
    const upstreamBefore = await upstreamSessions();
    await worker.call<number>({ command: 'openIdle', target: target.name, count: settings.idleSessions, parallel: 16 });
    const after = await memoryAfterGc(pid, inspectorUrl());
    const serverAfter = target.name === 'direct' ? undefined : await memoryAfterGc(server.pid, serverInspector);
    const upstreamAfter = await upstreamSessions();
    const { usable } = await worker.call<{ usable: number }>({ command: 'closeIdle', target: target.name, parallel: 16 });
    memoryRows.push({ ...memoryRow(target.name, processName, settings.idleSessions, before, after, upstreamBefore, upstreamAfter, serverBefore, serverAfter), sessionsStillUsable: usable });
    progress(`${target.name}: ${settings.idleSessions} idle sessions measured`);
  };
  await measureMemory(targets[0]!, 'bench-server', server.pid, () => serverInspector);
  const gatewayTarget = targets.find((target) => target.name === 'gateway');
  if (gatewayTarget?.middle !== undefined) await measureMemory(gatewayTarget, 'gateway', gatewayTarget.middle.pid, gatewayTarget.middle.inspectorUrl);

  const echoRows = settings.concurrencies.flatMap((concurrency) => {
    const direct = echoSummary(echoResults.get(key('direct', concurrency)), ticksPerSecond);
    return targets.map((target) => {
      const summary = echoSummary(echoResults.get(key(target.name, concurrency)), ticksPerSecond);
      return {
        target: target.name,
        concurrency,
        ...summary,
        ratioToDirect: summary.callsPerSecond / direct.callsPerSecond,
        addedP50Ms: summary.p50Ms - direct.p50Ms,
        addedP99Ms: summary.p99Ms - direct.p99Ms,
        middleCpuUsPerCall: target.middle === undefined ? undefined : summary.middleCpuUsPerCall,
      };
    });
  });
  const directList = echoSummary(listResults.get('direct'), ticksPerSecond);
  const listRows = targets.map((target) => {
    const accumulated = listResults.get(target.name);
    const summary = echoSummary(accumulated, ticksPerSecond);
    return {
      target: target.name,
      calls: summary.calls,
      errors: summary.errors,
      p50Ms: summary.p50Ms,
      p99Ms: summary.p99Ms,
      addedP50Ms: summary.p50Ms - directList.p50Ms,
      toolCount: accumulated?.toolCount,
      replyBytes: accumulated?.replyBytes,
      middleCpuUsPerCall: target.middle === undefined ? undefined : summary.middleCpuUsPerCall,
    };
  });

  const summary = {
    startedAt: startedAt.toISOString(),
    environment: { node: process.version, platform: process.platform, cpus: cpus().length, cpuModel: cpus()[0]?.model, loadAverageAtStart: loadAtStart, clockTicksPerSecond: ticksPerSecond },
    settings,
    gateway: gatewayStatus,
    echo: echoRows,
    toolsList: listRows,
    memory: memoryRows,
  };

  printReport(summary);
  if (flags.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

type EchoSummary = ReturnType<typeof echoSummary>;

/**
 * The median over rounds of on/off CPU per call, each ratio from one round of each (measured back to
 * back in the interleaved order): one round disturbed by the machine moves it less than the total.
 */
function medianRoundRatio(on: readonly number[] | undefined, off: readonly number[] | undefined): number | undefined {
  if (on === undefined || off === undefined) return undefined;
  const ratios = on.flatMap((value, index) => (off[index] === undefined || off[index] === 0 ? [] : [value / off[index]!])).sort((a, b) => a - b);
  return ratios.length === 0 ? undefined : percentile(Float64Array.from(ratios), 0.5);
}

function echoSummary(accumulated: Accumulated | undefined, ticksPerSecond: number) {
  const sorted = concatSorted(accumulated?.latencies ?? []);
  const calls = accumulated?.calls ?? 0;
  const perCallUs = (ticks: number | undefined): number | undefined => (ticks === undefined || calls === 0 ? undefined : (ticks / ticksPerSecond / calls) * 1e6);
  return {
    calls,
    errors: accumulated?.errors ?? 0,
    firstError: accumulated?.firstError,
    callsPerSecond: accumulated === undefined || accumulated.elapsedMs === 0 ? Number.NaN : (calls / accumulated.elapsedMs) * 1000,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    middleCpuUsPerCall: perCallUs(accumulated?.middleTicks),
    middleCpuUsPerCallByRound: accumulated?.middleUsPerCallByRound ?? [],
    serverCpuUsPerCall: perCallUs(accumulated?.serverTicks),
    loadGeneratorCpuUsPerCall: perCallUs(accumulated?.loadTicks),
  };
}

interface MemoryRow {
  target: string;
  process: string;
  sessions: number;
  gcForced: boolean;
  rssBytesPerSession: number | undefined;
  heapBytesPerSession: number | undefined;
  upstreamSessionsOpened: number | undefined;
  upstreamRssBytesPerSession: number | undefined;
  /** Idle sessions that still answered an echo after the measurement; should equal `sessions`. */
  sessionsStillUsable?: number;
}

function memoryRow(
  target: string,
  processName: string,
  sessions: number,
  before: MemorySample | undefined,
  after: MemorySample | undefined,
  upstreamBefore: number | undefined,
  upstreamAfter: number | undefined,
  serverBefore: MemorySample | undefined,
  serverAfter: MemorySample | undefined,
): MemoryRow {
  const perSession = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined || b === undefined ? undefined : (b - a) / sessions);
  return {
    target,
    process: processName,
    sessions,
    gcForced: (before?.collected ?? false) && (after?.collected ?? false),
    rssBytesPerSession: perSession(before?.rssBytes, after?.rssBytes),
    heapBytesPerSession: perSession(before?.heapUsedBytes, after?.heapUsedBytes),
    upstreamSessionsOpened: upstreamBefore === undefined || upstreamAfter === undefined ? undefined : upstreamAfter - upstreamBefore,
    upstreamRssBytesPerSession: perSession(serverBefore?.rssBytes, serverAfter?.rssBytes),
  };
}

function printReport(summary: {
  environment: { node: string; cpus: number; cpuModel: string | undefined; loadAverageAtStart: number[] };
  gateway: { measured: true; entry: string; endpoint?: Endpoint } | { measured: false; reason: string };
  echo: Array<EchoSummary & { target: string; concurrency: number; ratioToDirect: number; addedP50Ms: number; addedP99Ms: number }>;
  toolsList: Array<{ target: string; calls: number; errors: number; p50Ms: number; p99Ms: number; addedP50Ms: number; toolCount: number | undefined; replyBytes: number | undefined; middleCpuUsPerCall: number | undefined }>;
  memory: MemoryRow[];
}): void {
  const { environment } = summary;
  const lines: string[] = [];
  lines.push('', `Gatehouse benchmark — node ${environment.node}, ${environment.cpus} × ${environment.cpuModel ?? 'CPU'}, load ${environment.loadAverageAtStart.map((load) => load.toFixed(2)).join(' ')}`);
  lines.push(
    summary.gateway.measured
      ? `gateway: ${summary.gateway.entry}, echo at ${summary.gateway.endpoint?.url ?? '?'} as ${summary.gateway.endpoint?.echoTool ?? '?'}`
      : `gateway: NOT MEASURED — ${summary.gateway.reason.split('\n')[0]}`,
  );
  lines.push('', `tools/call echo (${settings.rounds} interleaved rounds × ≤${settings.roundMs} ms or ${settings.roundCalls} calls per target and concurrency)`);
  lines.push(
    formatTable(
      ['target', 'conc', 'calls', 'calls/s', 'vs direct', 'p50 ms', 'p99 ms', '+p50 ms', '+p99 ms', 'proxy CPU µs/call', 'server CPU µs/call', 'errors'],
      summary.echo.map((row) => [
        row.target,
        String(row.concurrency),
        String(row.calls),
        fixed(row.callsPerSecond, 0),
        row.target === 'direct' ? '1.00' : fixed(row.ratioToDirect, 2),
        fixed(row.p50Ms, 3),
        fixed(row.p99Ms, 3),
        row.target === 'direct' ? '' : signed(row.addedP50Ms, 3),
        row.target === 'direct' ? '' : signed(row.addedP99Ms, 3),
        fixed(row.middleCpuUsPerCall, 0),
        fixed(row.serverCpuUsPerCall, 0),
        String(row.errors),
      ]),
    ),
  );
  lines.push('', 'tools/list (concurrency 1)');
  lines.push(
    formatTable(
      ['target', 'calls', 'tools', 'reply KB', 'p50 ms', 'p99 ms', '+p50 ms', 'proxy CPU µs/call', 'errors'],
      summary.toolsList.map((row) => [
        row.target,
        String(row.calls),
        String(row.toolCount ?? '—'),
        row.replyBytes === undefined ? '—' : fixed(row.replyBytes / 1024, 1),
        fixed(row.p50Ms, 3),
        fixed(row.p99Ms, 3),
        row.target === 'direct' ? '' : signed(row.addedP50Ms, 3),
        fixed(row.middleCpuUsPerCall, 0),
        String(row.errors),
      ]),
    ),
  );
  lines.push('', 'memory per open idle session (RSS and V8 heap delta after a forced GC, divided by the sessions opened)');
  lines.push(
    formatTable(
      ['target', 'process', 'sessions', 'still usable', 'RSS KB/session', 'heap KB/session', 'GC forced', 'upstream sessions opened', 'upstream RSS KB/session'],
      summary.memory.map((row) => [
        row.target,
        row.process,
        String(row.sessions),
        String(row.sessionsStillUsable ?? '—'),
        row.rssBytesPerSession === undefined ? '—' : fixed(row.rssBytesPerSession / 1024, 1),
        row.heapBytesPerSession === undefined ? '—' : fixed(row.heapBytesPerSession / 1024, 1),
        row.gcForced ? 'yes' : 'no',
        row.target === 'direct' ? '' : String(row.upstreamSessionsOpened ?? '—'),
        row.upstreamRssBytesPerSession === undefined ? '' : fixed(row.upstreamRssBytesPerSession / 1024, 1),
      ]),
    ),
  );
  for (const variant of settings.variants) {
    const rows = summary.echo.filter((row) => row.target === `gateway-${variant.name}`);
    if (rows.length === 0) continue;
    const onName = variant.compare.featureOn === 'variant' ? `gateway-${variant.name}` : variant.compare.with;
    const offName = variant.compare.featureOn === 'variant' ? variant.compare.with : `gateway-${variant.name}`;
    lines.push('', `${variant.title}`, `  on: ${onName}, off: ${offName}`);
    lines.push(
      formatTable(
        ['conc', 'CPU µs/call on', 'CPU µs/call off', 'CPU ratio', 'median round ratio', 'added CPU µs/call', 'calls/s on', 'calls/s off', 'throughput ratio'],
        settings.concurrencies.map((concurrency) => {
          const on = summary.echo.find((row) => row.target === onName && row.concurrency === concurrency);
          const off = summary.echo.find((row) => row.target === offName && row.concurrency === concurrency);
          const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || b === 0 ? '—' : fixed(a / b, 3));
          const added = on?.middleCpuUsPerCall === undefined || off?.middleCpuUsPerCall === undefined ? undefined : on.middleCpuUsPerCall - off.middleCpuUsPerCall;
          return [
            String(concurrency),
            fixed(on?.middleCpuUsPerCall, 0),
            fixed(off?.middleCpuUsPerCall, 0),
            ratio(on?.middleCpuUsPerCall, off?.middleCpuUsPerCall),
            fixed(medianRoundRatio(on?.middleCpuUsPerCallByRound, off?.middleCpuUsPerCallByRound), 3),
            added === undefined ? '—' : signed(added, 0),
            fixed(on?.callsPerSecond, 0),
            fixed(off?.callsPerSecond, 0),
            ratio(on?.callsPerSecond, off?.callsPerSecond),
          ];
        }),
      ),
    );
  }
  const failing = summary.echo.filter((row) => row.errors > 0);
  for (const row of failing) lines.push(`! ${row.target} c=${row.concurrency}: ${row.errors} errors, first: ${row.firstError ?? '?'}`);
  if (!summary.gateway.measured) lines.push('', `Gateway skipped: ${summary.gateway.reason}`);
  report.write(`${lines.join('\n')}\n`);
}

try {
  await main();
} catch (error) {
  if (!stopping) progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
