// The load generator, run as its own process (forked by run.ts) so that generating load does not
// share an event loop with the orchestration, and its CPU can be told apart from the targets'.
// It holds, per target, a keep-alive undici Pool and a set of open MCP sessions, and runs rounds
// on request: N virtual clients, each with its own session, calling back to back.
import { performance } from 'node:perf_hooks';
import type { Pool } from 'undici';
import { createPool, McpHttpSession, type Endpoint } from './mcp-http-client.js';

export type WorkerRequest =
  | { command: 'prepare'; target: string; candidates: Endpoint[]; sessions: number }
  | { command: 'round'; target: string; operation: 'echo' | 'list'; concurrency: number; maxCalls: number; maxMs: number }
  | { command: 'openIdle'; target: string; count: number; parallel: number }
  | { command: 'closeIdle'; target: string; parallel: number }
  | { command: 'stop' };

export interface PrepareResult {
  endpoint: Endpoint;
  stateful: boolean;
  /** Why the candidates before the chosen one were rejected. */
  rejected: string[];
}

export interface RoundResult {
  calls: number;
  errors: number;
  firstError: string | undefined;
  elapsedMs: number;
  /** Per-call latency in milliseconds, in completion order. */
  latenciesMs: Float64Array;
  /** tools/list only: tool count and reply size of the last call. */
  toolCount?: number;
  replyBytes?: number;
}

export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

interface TargetState {
  endpoint: Endpoint;
  pool: Pool;
  sessions: McpHttpSession[];
  idle: McpHttpSession[];
}

const targets = new Map<string, TargetState>();
let sequence = 0;
/** Stop a round early after this many failures: the error, not the count, is the finding. */
const maxErrorsPerRound = 100;

function targetState(name: string): TargetState {
  const state = targets.get(name);
  if (state === undefined) throw new Error(`target ${name} was not prepared`);
  return state;
}

async function prepare(target: string, candidates: Endpoint[], sessionCount: number): Promise<PrepareResult> {
  const rejected: string[] = [];
  for (const endpoint of candidates) {
    // Enough connections that no virtual client ever waits for a socket.
    const pool = createPool(endpoint.url, sessionCount + 8);
    try {
      const probe = new McpHttpSession(pool, endpoint);
      await probe.open();
      await probe.echo('probe');
      const sessions = [probe];
      while (sessions.length < sessionCount) {
        const batch = Array.from({ length: Math.min(16, sessionCount - sessions.length) }, () => new McpHttpSession(pool, endpoint));
        await Promise.all(batch.map((session) => session.open()));
        sessions.push(...batch);
      }
      targets.set(target, { endpoint, pool, sessions, idle: [] });
      return { endpoint, stateful: probe.sessionId !== undefined, rejected };
    } catch (error) {
      rejected.push(`${endpoint.url} (${endpoint.echoTool}): ${String(error)}`);
      await pool.destroy();
    }
  }
  throw new Error(`no endpoint of ${target} works:\n  ${rejected.join('\n  ')}`);
}

async function round(request: Extract<WorkerRequest, { command: 'round' }>): Promise<RoundResult> {
  const state = targetState(request.target);
  const sessions = state.sessions.slice(0, request.concurrency);
  if (sessions.length < request.concurrency) throw new Error(`only ${sessions.length} sessions for concurrency ${request.concurrency}`);
  const latencies = new Float64Array(request.maxCalls);
  let completed = 0;
  let started = 0;
  let errors = 0;
  let firstError: string | undefined;
  let toolCount: number | undefined;
  let replyBytes: number | undefined;
  const startedAt = performance.now();
  const deadline = startedAt + request.maxMs;

  async function virtualClient(session: McpHttpSession): Promise<void> {
    while (started < request.maxCalls && errors < maxErrorsPerRound && performance.now() < deadline) {
      started++;
      const callStartedAt = performance.now();
      try {
        if (request.operation === 'echo') {
          // Unique per call, so a cached or crossed reply fails the check.
          await session.echo(`echo ${++sequence} ${callStartedAt}`);
        } else {
          const listed = await session.listTools();
          toolCount = listed.names.length;
          replyBytes = listed.bytes;
        }
        latencies[completed++] = performance.now() - callStartedAt;
      } catch (error) {
        errors++;
        firstError ??= String(error);
      }
    }
  }

  await Promise.all(sessions.map((session) => virtualClient(session)));
  return {
    calls: completed,
    errors,
    firstError,
    elapsedMs: performance.now() - startedAt,
    latenciesMs: latencies.slice(0, completed),
    ...(toolCount === undefined ? {} : { toolCount }),
    ...(replyBytes === undefined ? {} : { replyBytes }),
  };
}

async function inBatches<T>(items: T[], parallel: number, work: (item: T) => Promise<void>): Promise<void> {
  for (let index = 0; index < items.length; index += parallel) {
    await Promise.all(items.slice(index, index + parallel).map(work));
  }
}

async function openIdle(target: string, count: number, parallel: number): Promise<number> {
  const state = targetState(target);
  const sessions = Array.from({ length: count }, () => new McpHttpSession(state.pool, state.endpoint));
  await inBatches(sessions, parallel, (session) => session.open());
  state.idle.push(...sessions);
  return state.idle.length;
}

/** Checks that every idle session still works (one echo each), then ends them all. */
async function closeIdle(target: string, parallel: number): Promise<{ closed: number; usable: number }> {
  const state = targetState(target);
  const sessions = state.idle.splice(0);
  let usable = 0;
  await inBatches(sessions, parallel, async (session) => {
    try {
      await session.echo('still there?');
      usable++;
    } catch {
      // Counted as unusable: the target dropped or forgot the session.
    }
    await session.close().catch(() => undefined);
  });
  return { closed: sessions.length, usable };
}

async function handle(request: WorkerRequest): Promise<unknown> {
  switch (request.command) {
    case 'prepare':
      return prepare(request.target, request.candidates, request.sessions);
    case 'round':
      return round(request);
    case 'openIdle':
      return openIdle(request.target, request.count, request.parallel);
    case 'closeIdle':
      return closeIdle(request.target, request.parallel);
    case 'stop':
      await Promise.all([...targets.values()].map((state) => state.pool.destroy()));
      targets.clear();
      return undefined;
  }
}

if (process.send === undefined) throw new Error('load-worker.ts runs as a forked child of bench/run.ts');
process.on('message', (message: { id: number; request: WorkerRequest }) => {
  handle(message.request).then(
    (result) => process.send!({ id: message.id, ok: true, result } satisfies WorkerReply),
    (error: unknown) => process.send!({ id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) } satisfies WorkerReply),
  );
});
// The orchestrator went away: nothing left to do.
process.on('disconnect', () => process.exit(0));
