/**
 * The 2026-07-28 server scenarios of the MCP conformance suite pre-release
 * (`@modelcontextprotocol/conformance@0.2.0-alpha.12`) against the dual-era fixture
 * (test/fixtures/conformance-server-modern.ts, SDK v2), plus the 2025-11-25 scenarios against the
 * same endpoint. The gateway will be checked against the same lists: every scenario that passes
 * directly must pass through Gatehouse. See docs/conformance.md, "The 2026-07-28 suite".
 *
 *   node scripts/run-tests.mjs test/conformance/modern-conformance.test.ts
 *
 * The first run installs Node 22 and the suite from npm into ~/.cache/gatehouse/conformance (once);
 * later runs are offline.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fixturePath, startHttpFixture, startStdioFixture, type HttpFixture, type StdioFixture } from '../fixtures/spawn-fixture.js';
import { ACTIVE_SERVER_SCENARIOS } from './assert-conformant.js';
import { ensureConformanceCli } from './conformance-cli.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { runConformance, type ConformanceResult } from './run-conformance.js';

/** The suite pre-release that carries the 2026-07-28 scenarios; 0.1.16 (`latest`) has none. */
const MODERN_SUITE_VERSION = '0.2.0-alpha.12';

/**
 * `requirements/2026-07-28.yaml` of that release: the 37 server scenarios the revision requires,
 * run at the 2026-07-28 wire (stateless, per-request `_meta`), in the order the CLI runs them.
 */
const REQUIRED_2026_07_28: readonly string[] = [
  'server-stateless',
  'completion-complete',
  'tools-list',
  'tools-call-simple-text',
  'tools-call-image',
  'tools-call-audio',
  'tools-call-embedded-resource',
  'tools-call-mixed-content',
  'tools-call-error',
  'tools-call-with-progress',
  'server-sse-multiple-streams',
  'resources-list',
  'resources-read-text',
  'resources-read-binary',
  'resources-templates-read',
  'sep-2164-resource-not-found',
  'prompts-list',
  'prompts-get-simple',
  'prompts-get-with-args',
  'prompts-get-embedded-resource',
  'prompts-get-with-image',
  'dns-rebinding-protection',
  'caching',
  'input-required-result-basic-elicitation',
  'input-required-result-basic-sampling',
  'input-required-result-basic-list-roots',
  'input-required-result-request-state',
  'input-required-result-multiple-input-requests',
  'input-required-result-multi-round',
  'input-required-result-missing-input-response',
  'input-required-result-non-tool-request',
  'input-required-result-result-type',
  'input-required-result-unsupported-methods',
  'input-required-result-tampered-state',
  'input-required-result-capability-check',
  'input-required-result-ignore-extra-params',
  'input-required-result-validate-input',
];

/** Tagged 2026-07-28 but `pending` in the suite (run, not scored); the fixture passes them anyway. */
const PENDING_2026_07_28: readonly string[] = ['json-schema-2020-12', 'http-header-validation', 'http-custom-header-server-validation'];

/**
 * Run by `--requirements 2026-07-28` but never scored, and NOT expected to pass: the Tasks
 * extension (`io.modelcontextprotocol/tasks`, SEP-2663). SDK 2.4 ships no tasks extension (only
 * `ext/skills`), so the fixture does not implement `tasks/get`, `tasks/update`, `tasks/cancel` or
 * task-augmented `tools/call`; most of these fail and `tasks-status-notifications` passes only
 * because it has no checks to fail. Their results are ignored here.
 */
const TASKS_EXTENSION_NOT_IMPLEMENTED: readonly string[] = [
  'tasks-lifecycle',
  'tasks-capability-negotiation',
  'tasks-wire-fields',
  'tasks-request-state-removal',
  'tasks-mrtr-input',
  'tasks-request-headers',
  'tasks-dispatch-and-envelope',
  'tasks-status-notifications',
  'tasks-required-task-error',
  'tasks-mrtr-composition',
];

/**
 * `requirements/2025-11-25.yaml`: the 30 required server scenarios, run at the 2025-11-25 wire
 * (sessions). The same 30, in the same order, as the 0.1.16 "active" suite, so the list is kept once.
 */
const REQUIRED_2025_11_25: readonly string[] = ACTIVE_SERVER_SCENARIOS;

/** Run by `--requirements 2025-11-25` but not scored (added after release, or pending); passed too. */
const NOT_SCORED_2025_11_25: readonly string[] = ['server-session-lifecycle', 'json-schema-2020-12', 'server-sse-polling'];

// Generous: a run takes about 10 s on a quiet 2-core machine, the first one also installs the CLI,
// and other suites may share the machine. The CLI itself gives each scenario 30 s.
const INSTALL_TIMEOUT_MS = 12 * 60_000;
const RUN_TIMEOUT_MS = 10 * 60_000;
const SUITE_TIMEOUT_MS = 30 * 60_000;
const FIXTURE_READY_TIMEOUT_MS = 60_000;

function explain(result: ConformanceResult, names: readonly string[]): string {
  return result.failed
    .filter(({ name }) => names.includes(name) || name === '(runner)')
    .map(({ name, detail }) => `  ${name}: ${detail}`)
    .join('\n');
}

function assertRanExactly(result: ConformanceResult, expected: readonly string[], url: string): void {
  const ran = [...result.passed, ...result.failed.map(({ name }) => name), ...result.skipped].sort();
  const runner = result.failed.find(({ name }) => name === '(runner)');
  assert.equal(runner, undefined, `the conformance CLI did not complete against ${url}: ${runner?.detail ?? ''}`);
  assert.deepEqual(ran, [...expected].sort(), `the suite ran a different set of scenarios against ${url}; update the lists above`);
}

/** One CLI run of the 0.2.0-alpha.12 suite against `url`: every scenario a revision's requirement set names. */
function runRequirementSet(url: string, revision: '2026-07-28' | '2025-11-25'): Promise<ConformanceResult> {
  return runConformance({
    url,
    suiteVersion: MODERN_SUITE_VERSION,
    extraArgs: ['--requirements', revision],
    timeoutMs: RUN_TIMEOUT_MS,
  });
}

// ─────────────────────────────────────────────────────────────────────────────────────────────
// runModernScenariosAgainst(url): THE ASSERTION FOR THE GATEWAY. Call it with Gatehouse's URL
// (Gatehouse in front of this fixture), as the test below calls it with the fixture's own URL.
// ─────────────────────────────────────────────────────────────────────────────────────────────
/**
 * Runs every 2026-07-28 server scenario of the 0.2.0-alpha.12 suite against `url` (one CLI run,
 * `--requirements 2026-07-28`) and asserts that the 37 required and the 3 pending scenarios all
 * pass. The tasks extension scenarios also run (the CLI cannot leave them out) and are ignored.
 */
async function runModernScenariosAgainst(url: string): Promise<ConformanceResult> {
  const result = await runRequirementSet(url, '2026-07-28');
  const mustPass = [...REQUIRED_2026_07_28, ...PENDING_2026_07_28];
  assertRanExactly(result, [...mustPass, ...TASKS_EXTENSION_NOT_IMPLEMENTED], url);
  assert.deepEqual(
    result.failed.filter(({ name }) => !TASKS_EXTENSION_NOT_IMPLEMENTED.includes(name)),
    [],
    `2026-07-28 conformance failures against ${url}:\n${explain(result, mustPass)}`,
  );
  assert.deepEqual(result.passed.filter((name) => mustPass.includes(name)).sort(), [...mustPass].sort());
  return result;
}

/** The legacy half of the same endpoint: the 2025-11-25 requirement set (sessions, server-to-client requests). */
async function runLegacyScenariosAgainst(url: string): Promise<ConformanceResult> {
  const result = await runRequirementSet(url, '2025-11-25');
  const mustPass = [...REQUIRED_2025_11_25, ...NOT_SCORED_2025_11_25];
  assertRanExactly(result, mustPass, url);
  assert.deepEqual(result.failed, [], `2025-11-25 conformance failures against ${url}:\n${explain(result, mustPass)}`);
  return result;
}

/**
 * Resolves once the endpoint serves a 2026-07-28 request: the fixture prints its URL when it
 * listens, and this first request also pays for the lazy work (schema compilation, JIT) so the
 * suite's sub-second stream reads in server-stateless do not.
 */
async function awaitServing(url: string): Promise<void> {
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
  for (const method of ['server/discover', 'tools/list']) {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': method,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { _meta: meta } }),
      signal: AbortSignal.timeout(FIXTURE_READY_TIMEOUT_MS),
    });
    assert.equal(response.status, 200, `${method} answered ${response.status}: ${await response.text()}`);
    await response.arrayBuffer().catch(() => undefined);
  }
}

describe('MCP conformance suite 0.2.0-alpha.12 (2026-07-28)', { timeout: SUITE_TIMEOUT_MS }, () => {
  before(
    async () => {
      // Install (or find) the CLI up front so its download time is not charged to one test.
      await ensureConformanceCli({ suiteVersion: MODERN_SUITE_VERSION });
    },
    { timeout: INSTALL_TIMEOUT_MS },
  );

  describe('directly against the dual-era fixture over Streamable HTTP', () => {
    let fixture: HttpFixture | undefined;
    before(
      async () => {
        fixture = await startHttpFixture(fixturePath('conformance-server-modern.ts'));
        await awaitServing(fixture.url);
      },
      { timeout: FIXTURE_READY_TIMEOUT_MS * 2 },
    );
    after(async () => {
      await fixture?.close();
    });

    test('the fixture passes every 2026-07-28 server scenario, required and pending', { timeout: RUN_TIMEOUT_MS }, async () => {
      assert.ok(fixture);
      const result = await runModernScenariosAgainst(fixture.url);
      // Every SHOULD-level check passes too (list_changed on listen streams, -32602 with data.uri, …).
      assert.deepEqual(result.warnings.filter(({ name }) => !TASKS_EXTENSION_NOT_IMPLEMENTED.includes(name)), []);
    });

    test('the same endpoint passes every 2025-11-25 server scenario with a session', { timeout: RUN_TIMEOUT_MS }, async () => {
      assert.ok(fixture);
      const result = await runLegacyScenariosAgainst(fixture.url);
      assert.deepEqual(result.warnings, []);
    });
  });

  // Through Gatehouse, the fixture its only upstream at /servers/conf/mcp (names unchanged): with
  // era auto (a session, plus a stateless client because the server also speaks 2026-07-28) and with
  // era modern (2026-07-28 only: session-era clients are bridged onto it).
  for (const era of ['auto', 'modern'] as const) {
    describe(`through Gatehouse, upstream era ${era}`, () => {
      let fixture: HttpFixture | undefined;
      let gateway: GatewayProcess | undefined;
      before(
        async () => {
          fixture = await startHttpFixture(fixturePath('conformance-server-modern.ts'));
          await awaitServing(fixture.url);
          gateway = await startGateway({ log: { level: 'info' }, servers: { conf: { url: fixture.url, era } } });
          await awaitServing(`${gateway.url}/servers/conf/mcp`);
        },
        { timeout: FIXTURE_READY_TIMEOUT_MS * 3 },
      );
      after(async () => {
        await gateway?.close();
        await fixture?.close();
      });

      test('every 2026-07-28 scenario that passes directly passes through the gateway', { timeout: RUN_TIMEOUT_MS }, async () => {
        assert.ok(gateway);
        await runModernScenariosAgainst(`${gateway.url}/servers/conf/mcp`);
      });

      test('every 2025-11-25 scenario that passes directly passes through the gateway', { timeout: RUN_TIMEOUT_MS }, async () => {
        assert.ok(gateway);
        await runLegacyScenariosAgainst(`${gateway.url}/servers/conf/mcp`);
      });
    });
  }
});

describe('the dual-era fixture over stdio', () => {
  let fixture: StdioFixture | undefined;
  after(async () => {
    await fixture?.close();
  });

  test('answers server/discover, then an input_required round trip, on the 2026-07-28 wire', { timeout: FIXTURE_READY_TIMEOUT_MS }, async () => {
    fixture = startStdioFixture(fixturePath('conformance-server-modern.ts'));
    const waiting = new Map<unknown, (message: Record<string, unknown>) => void>();
    fixture.transport.onmessage = (message) => {
      const record = message as Record<string, unknown>;
      if ('id' in record && !('method' in record)) waiting.get(record['id'])?.(record);
    };
    await fixture.transport.start();
    const meta = {
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': { elicitation: {} },
    };
    const call = async (id: number, method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> => {
      const answered = new Promise<Record<string, unknown>>((resolve) => waiting.set(id, resolve));
      await fixture?.transport.send({ jsonrpc: '2.0', id, method, params: { ...params, _meta: meta } });
      return answered;
    };

    const discover = await call(1, 'server/discover', {});
    assert.deepEqual((discover['result'] as { supportedVersions?: unknown }).supportedVersions, ['2026-07-28']);

    const first = (await call(2, 'tools/call', { name: 'test_input_required_result_elicitation', arguments: {} }))['result'] as Record<string, unknown>;
    assert.equal(first['resultType'], 'input_required');
    assert.ok((first['inputRequests'] as Record<string, unknown>)['user_name']);

    const retry = await call(3, 'tools/call', {
      name: 'test_input_required_result_elicitation',
      arguments: {},
      inputResponses: { user_name: { action: 'accept', content: { name: 'Ada' } } },
    });
    assert.deepEqual((retry['result'] as { content?: unknown }).content, [{ type: 'text', text: 'Hello, Ada!' }]);
  });
});
