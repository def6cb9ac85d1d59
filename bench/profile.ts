// CPU profile of the gateway's hot path: starts bench-server and the gateway (with --cpu-prof),
// drives `tools/call echo` at a fixed concurrency for a few seconds, stops the gateway so it writes
// its profile, and prints the functions with the most self time.
//
//   node --import tsx bench/profile.ts [--seconds 8] [--concurrency 16] [--top 30] [--variant plain]
// (--variant: the gateway configured as that bench variant, bench/variants.ts; tracing's sink is not started)
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fixturePath, startHttpFixture } from '../test/fixtures/spawn-fixture.js';
import { startGateway } from './gateway-process.js';
import { McpHttpSession, createPool } from './mcp-http-client.js';
import { clockTicksPerSecond } from './process-stats.js';
import { variantsNamed } from './variants.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '8' }, concurrency: { type: 'string', default: '16' }, top: { type: 'string', default: '30' }, variant: { type: 'string' } } });
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const profileDir = await mkdtemp(join(tmpdir(), 'gatehouse-prof-'));

const upstream = await startHttpFixture(fixturePath('bench-server.ts'));
const variant = values.variant === undefined ? undefined : variantsNamed(values.variant)[0];
const gateway = await startGateway(upstream.url, {
  entry: 'dist',
  nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
  onStderrLine: () => undefined,
  ...(variant && { config: variant.config(upstream.url, 'http://127.0.0.1:9/v1/traces') }),
});
if ('skipped' in gateway) throw new Error(gateway.skipped);
const endpoint = { url: `${gateway.baseUrl}/servers/bench/mcp`, echoTool: 'echo' };
const pool = createPool(endpoint.url, concurrency * 2);
const sessions = await Promise.all(Array.from({ length: concurrency }, async () => {
  const session = new McpHttpSession(pool, endpoint);
  await session.open();
  return session;
}));
const userSystem = async (): Promise<[number, number]> => {
  const stat = await readFile(`/proc/${gateway.process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [Number(fields[11]), Number(fields[12])];
};
/** CPU ticks of each of the gateway's threads, by thread name (V8's GC and compiler helpers are not in the profile). */
const threadTicks = async (): Promise<Map<string, number>> => {
  const byName = new Map<string, number>();
  const taskDir = `/proc/${gateway.process.pid}/task`;
  for (const task of await readdir(taskDir)) {
    const stat = await readFile(`${taskDir}/${task}/stat`, 'utf8').catch(() => '');
    if (stat === '') continue;
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    byName.set(name, (byName.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]));
  }
  return byName;
};
const threadsBefore = await threadTicks();
const cpuBefore = await userSystem();
let calls = 0;
const deadline = Date.now() + seconds * 1000;
await Promise.all(sessions.map(async (session, index) => {
  while (Date.now() < deadline) await session.echo(`call ${index} ${calls++}`);
}));
const cpuAfter = await userSystem();
const threadsAfter = await threadTicks();
const microsPerCall = (index: 0 | 1): number => Math.round(((cpuAfter[index] - cpuBefore[index]) / clockTicksPerSecond() / calls) * 1e6);
console.log(`${calls} calls in ${seconds} s (${Math.round(calls / seconds)}/s) at concurrency ${concurrency}; gateway CPU per call: ${microsPerCall(0)} µs user + ${microsPerCall(1)} µs system (profiler on)`);
console.log(
  `by thread: ${[...threadsAfter]
    .map(([name, ticks]): [string, number] => [name, Math.round(((ticks - (threadsBefore.get(name) ?? 0)) / clockTicksPerSecond() / calls) * 1e6)])
    .filter(([, micros]) => micros > 0)
    .map(([name, micros]) => `${name} ${micros} µs`)
    .join(', ')}`,
);
await Promise.all(sessions.map((session) => session.close()));
await pool.close();
process.kill(gateway.process.pid, 'SIGTERM');
await gateway.process.exited;
await upstream.close();

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; }
const file = (await readdir(profileDir)).find((name) => name.endsWith('.cpuprofile'));
if (!file) throw new Error('no profile written');
const profile = JSON.parse(await readFile(join(profileDir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfTime = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, index) => {
  const node = byId.get(id)!;
  const delta = profile.timeDeltas[index] ?? 0;
  total += delta;
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules\/|src\/|node:)/, '$1')}:${lineNumber + 1}`;
  selfTime.set(key, (selfTime.get(key) ?? 0) + delta);
});
const rows = [...selfTime.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
for (const [key, time] of rows) console.log(`${((time / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
console.log(`profile: ${join(profileDir, file)}`);
