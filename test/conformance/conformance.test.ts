/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance) against the conformance
 * fixture: directly, which proves the fixture and the runner, and through Gatehouse, which is what
 * the suite is here for. See docs/conformance.md.
 *
 *   node --import tsx --test test/conformance/conformance.test.ts
 *
 * The first run installs Node 22 and the CLI from npm into ~/.cache/gatehouse/conformance (about
 * 130 MB, once); later runs are offline.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertFullyConformant, CONFORMANCE_SUITE_VERSION } from './assert-conformant.js';
import { ensureConformanceCli } from './conformance-cli.js';
import { CONFORMANCE_FIXTURE_STDIO_COMMAND, startConformanceFixture, type FixtureProcess } from './fixture-process.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { runConformance } from './run-conformance.js';

// Generous: a full run takes a few seconds, but the first one downloads the CLI and this machine
// may be busy with other suites.
const SUITE_TIMEOUT_MS = 15 * 60_000;
const INSTALL_TIMEOUT_MS = 12 * 60_000;
const RUN_TIMEOUT_MS = 10 * 60_000;

describe('MCP conformance suite', { timeout: SUITE_TIMEOUT_MS }, () => {
  before(
    async () => {
      // Install (or find) the CLI up front so its download time is not charged to one test.
      await ensureConformanceCli({ suiteVersion: CONFORMANCE_SUITE_VERSION });
    },
    { timeout: INSTALL_TIMEOUT_MS },
  );

  describe('directly against the conformance fixture', () => {
    let fixture: FixtureProcess | undefined;
    before(async () => {
      fixture = await startConformanceFixture();
    });
    after(async () => {
      await fixture?.close();
    });

    test('the fixture passes every server scenario of the suite', { timeout: RUN_TIMEOUT_MS }, async () => {
      assert.ok(fixture);
      const result = await assertFullyConformant(fixture.url);
      // The suite's polling probe sends `mcp-protocol-version: 2025-03-26`, and the SDK sends no
      // SSE priming event (id, retry) to clients older than 2025-11-25: two SHOULD-level warnings.
      assert.deepEqual(
        result.warnings.map(({ name }) => name),
        ['server-sse-polling'],
      );
    });

    test('the fixture passes a scenario run on its own', { timeout: RUN_TIMEOUT_MS }, async () => {
      assert.ok(fixture);
      const result = await runConformance({
        url: fixture.url,
        suiteVersion: CONFORMANCE_SUITE_VERSION,
        scenarios: ['tools-call-sampling'],
      });
      assert.deepEqual(result, { passed: ['tools-call-sampling'], failed: [], warnings: [], skipped: [] });
    });

    test('a failing scenario is reported with the reason', { timeout: RUN_TIMEOUT_MS }, async () => {
      assert.ok(fixture);
      // The suite's client talks to a path the fixture does not serve, so initialize fails.
      const result = await runConformance({
        url: fixture.url.replace(/\/mcp$/, '/not-mcp'),
        suiteVersion: CONFORMANCE_SUITE_VERSION,
        scenarios: ['server-initialize'],
      });
      assert.deepEqual(result.passed, []);
      assert.equal(result.failed.length, 1);
      assert.equal(result.failed[0]?.name, 'server-initialize');
      assert.match(result.failed[0]?.detail ?? '', /server-initialize: Failed to initialize/);
    });
  });

  // Through Gatehouse: the fixture is the only upstream, reached once over stdio and once over
  // Streamable HTTP, and the suite talks to its own endpoint /servers/conf/mcp (names unchanged).
  for (const upstreamKind of ['stdio', 'streamable-http'] as const) {
    describe(`through Gatehouse, fixture over ${upstreamKind}`, () => {
      let fixture: FixtureProcess | undefined;
      let gateway: GatewayProcess | undefined;
      before(async () => {
        let server: Record<string, unknown>;
        if (upstreamKind === 'stdio') {
          const [command, ...args] = CONFORMANCE_FIXTURE_STDIO_COMMAND;
          server = { command, args };
        } else {
          fixture = await startConformanceFixture();
          server = { url: fixture.url };
        }
        gateway = await startGateway({ log: { level: 'info' }, servers: { conf: server } });
      });
      after(async () => {
        await gateway?.close();
        await fixture?.close();
      });

      test('every server scenario that passes directly passes through the gateway', { timeout: RUN_TIMEOUT_MS }, async () => {
        assert.ok(gateway);
        const result = await assertFullyConformant(`${gateway.url}/servers/conf/mcp`);
        assert.deepEqual(result.failed, []);
      });
    });
  }
});
