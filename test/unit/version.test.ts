// One version everywhere: what the gateway announces in initialize (core's GATEWAY_VERSION) and what
// `gatehouse --version` prints (read from package.json, so that the CLI starts without loading core).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { GATEWAY_VERSION } from '../../src/core/index.js';
import { repoRoot } from '../fixtures/spawn-fixture.js';
import { runCli } from '../helpers/cli.js';

test('the version the gateway announces is package.json\'s, and gatehouse --version prints it', async () => {
  const { version } = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  assert.equal(GATEWAY_VERSION, version);
  const run = await runCli(['--version']);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim(), version);
});
