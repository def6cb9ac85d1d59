// Time limits and circuit breakers toward upstreams, through a gateway process: progress keeps a
// long call alive but never past its hard limit, where it is cancelled upstream; a tool can have its
// own limit; a server that keeps failing is paused (calls fail at once) and the admin API says so.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { admin } from '../helpers/admin-api.js';
import { fixturePath, startHttpFixture, type HttpFixture } from '../fixtures/spawn-fixture.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { textOf } from '../helpers/results.js';

const TIMEOUT = { timeout: 120_000 };

describe('time limits and circuit breakers toward upstreams', () => {
  let gateway: GatewayProcess;
  let upstream: HttpFixture;
  let client: Client;

  before(async () => {
    upstream = await startHttpFixture(fixturePath('header-recorder.ts'));
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 0 },
      servers: {
        long: {
          command: process.execPath,
          args: ['--import', 'tsx', 'test/fixtures/long-work-server.ts', '--stdio'],
          requestTimeoutMs: 1_000,
          maxRequestMs: 4_000,
          toolTimeouts: [{ tools: ['sl*p'], requestTimeoutMs: 300 }],
        },
        flaky: { url: upstream.url, circuitBreaker: { consecutiveFailures: 2, openMs: 600_000 } },
      },
    });
    client = new Client({ name: 'limits', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
    await upstream?.close();
  });

  test('progress keeps a call alive past the idle limit, never past the hard limit, and the call is cancelled upstream', TIMEOUT, async () => {
    let lastProgress = 0;
    const result = await client.callTool({ name: 'long__work', arguments: {} }, undefined, {
      onprogress: (progress) => (lastProgress = progress.progress),
      // The client's own limit must not end the call first.
      timeout: 60_000,
      resetTimeoutOnProgress: true,
    });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /hard limit/);
    // A step every 100 ms: 15 steps is 1.5 s of work, more than the 1 s idle limit would have allowed.
    assert.ok(lastProgress >= 15, `the tool reached step ${lastProgress}`);
    // notifications/cancelled reached the tool (asynchronously: ask until it says so).
    let cancellations = '0';
    for (let attempt = 0; attempt < 100 && cancellations === '0'; attempt++) {
      cancellations = textOf(await client.callTool({ name: 'long__cancellations', arguments: {} }));
      if (cancellations === '0') await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(cancellations, '1');
  });

  test('a tool with a limit of its own times out at that limit, not the server\'s', TIMEOUT, async () => {
    const result = await client.callTool({ name: 'long__sleep', arguments: { ms: 20_000 } });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /within 300 ms/);
  });

  test('a server that keeps failing is paused: calls fail at once, and the admin API shows the open circuit', TIMEOUT, async () => {
    const before = await admin(gateway)('GET', '/servers/flaky');
    assert.equal((before.body['runtime'] as { circuit?: string }).circuit, 'closed');
    await client.listTools(); // learn its tools while it is up
    await upstream.close();
    for (let failure = 0; failure < 2; failure++) {
      const result = await client.callTool({ name: 'flaky__headers', arguments: {} });
      assert.equal(result.isError, true);
      assert.doesNotMatch(textOf(result), /paused/);
    }
    const paused = await client.callTool({ name: 'flaky__headers', arguments: {} });
    assert.equal(paused.isError, true);
    assert.match(textOf(paused), /paused for up to 600 s/);
    const after = await admin(gateway)('GET', '/servers/flaky');
    assert.equal((after.body['runtime'] as { circuit?: string }).circuit, 'open');
  });
});
