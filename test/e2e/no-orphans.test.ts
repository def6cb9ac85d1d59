// A gateway killed with SIGKILL cannot clean up after itself; its watchdog does. The stdio server
// here ignores both the end of its stdin and SIGTERM (like a deadlocked server), so only the
// watchdog's SIGKILL ends it.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { killSurvivors, snapshotDescendants, survivorsOf, type ProcessRecord } from '../fixtures/process-tree.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js';

const TIMEOUT = { timeout: 120_000 };

describe('no orphaned server processes', () => {
  let gateway: GatewayProcess | undefined;
  let processes: ProcessRecord[] = [];

  after(async () => {
    await killSurvivors(processes);
    await gateway?.close();
  });

  test('after SIGKILL of the gateway, its stdio servers (and their children) are killed too', TIMEOUT, async () => {
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 0 },
      servers: {
        stubborn: {
          command: process.execPath,
          args: ['--import', 'tsx', 'test/fixtures/hang-server.ts', '--stdio'],
          env: { HANG_IGNORE_SIGTERM: '1' },
          isolation: 'per-session',
        },
      },
    });
    const client = new Client({ name: 'orphans', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/servers/stubborn/mcp`)));
    // A call starts the session's own server process (it never answers, which does not matter here).
    void client.callTool({ name: 'echo', arguments: { text: 'hi' } }).catch(() => undefined);
    let servers: ProcessRecord[] = [];
    for (let attempt = 0; attempt < 400 && servers.length < 2; attempt++) {
      processes = await snapshotDescendants(gateway.pid);
      servers = processes.filter((entry) => entry.commandLine.includes('hang-server'));
      if (servers.length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(servers.length, 2, `expected the shared and the session's server, found: ${processes.map((entry) => entry.commandLine).join(' | ')}`);

    process.kill(gateway.pid, 'SIGKILL');
    await gateway.exited;
    await client.close().catch(() => undefined);
    // The watchdog sends SIGTERM (ignored here), then SIGKILL after its 2 s grace.
    for (let attempt = 0; attempt < 400 && (await survivorsOf(servers)).length > 0; attempt++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(await survivorsOf(servers), []);
  });
});
