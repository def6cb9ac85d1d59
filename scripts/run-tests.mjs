#!/usr/bin/env node
// Runs every test/**/*.test.ts with Node's own test runner (through tsx), two files at a time.
// Node 20's runner does not expand globs itself, hence this small launcher.
//
// Gatehouse supports Node 20 and 22. After the full run on this Node, when it is 20 and a Node 22
// is at hand (GATEHOUSE_NODE22, or the one the conformance tests install from npm into their
// cache), the end-to-end core runs again on Node 22.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { RUN_MARKER, processesOfRun } from './leaked-processes.mjs';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return find(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

function run(node, files) {
  const result = spawnSync(node, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...files], { stdio: 'inherit' });
  return result.status ?? 1;
}

function node22() {
  if (process.env.GATEHOUSE_NODE22) return process.env.GATEHOUSE_NODE22;
  const cache = process.env.GATEHOUSE_CONFORMANCE_CACHE ?? join(homedir(), '.cache', 'gatehouse', 'conformance');
  if (!existsSync(cache)) return undefined;
  for (const entry of readdirSync(cache)) {
    const candidate = join(cache, entry, 'node_modules', 'node', 'bin', 'node');
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Every test cleans up what it started; a process of ours still running after the run is a leak, and
 * fails the run (after being killed, so that it does not outlive it either).
 */
function checkLeaks(status) {
  let leaked = processesOfRun(runId);
  // A process signalled by a test's cleanup may still be on its way out: give it a moment.
  for (const deadline = Date.now() + 15_000; leaked.length > 0 && Date.now() < deadline; leaked = processesOfRun(runId)) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
  if (leaked.length === 0) return status;
  console.log(`# FAIL: ${leaked.length} process(es) started by the tests outlived them:`);
  for (const { pid, commandLine } of leaked) {
    console.log(`#   ${pid} ${commandLine.slice(0, 300)}`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
  return status === 0 ? 1 : status;
}

// Inherited by every process the tests start (their runner, gateways, fixtures, servers), so that
// what is left at the end can be told apart from anyone else's processes.
const runId = randomUUID();
process.env[RUN_MARKER] = runId;
const only = process.argv.slice(2);
const status = checkLeaks(run(process.execPath, only.length > 0 ? only : find('test').sort()));
if (status !== 0 || only.length > 0 || !process.version.startsWith('v20.')) process.exit(status);
const other = node22();
if (other === undefined) {
  console.log('# Node 22 run skipped: no Node 22 found (set GATEHOUSE_NODE22)');
  process.exit(0);
}
console.log(`# the end-to-end core again on ${other}`);
// node_modules holds better-sqlite3 built for this Node (20); on 22 the gateway keeps its registry in memory.
process.env.GATEHOUSE_STORE = 'memory:';
process.exit(checkLeaks(run(other, ['test/e2e/passthrough.test.ts', 'test/e2e/bad-input.test.ts', 'test/e2e/modern-era.test.ts', 'test/unit/config.test.ts'])));
