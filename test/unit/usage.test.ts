// The usage view: the aggregation alone over hand-made records, and GET /admin/api/v1/usage on a
// running gateway after real calls.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { summariseUsage } from '../../src/admin/usage-routes.js';
import { Gateway } from '../../src/app.js';
import { configSchema } from '../../src/config/index.js';
import { createLogger } from '../../src/observability/index.js';
import type { AuditRecord } from '../../src/registry/index.js';
import { everythingStdio } from '../helpers/gateway-process.js';

let ids = 0;
function record(fields: Partial<AuditRecord>): AuditRecord {
  return {
    id: ++ids,
    replicaId: 'r1',
    at: '2031-01-01T00:00:00.000Z',
    requestId: '1',
    sessionId: 's',
    subject: 'k1',
    user: 'alice',
    identityKind: 'api-key',
    team: 'payments',
    keyId: 'k1',
    clientName: null,
    clientVersion: null,
    endpoint: '/mcp',
    method: 'tools/call',
    server: 'github',
    name: 'search',
    arguments: null,
    outcome: 'ok',
    errorCode: null,
    resultBytes: 10,
    isError: false,
    result: null,
    latencyMs: 10,
    upstream: null,
    seq: ids,
    prevHash: null,
    hash: null,
    ...fields,
  };
}

describe('usage summary', () => {
  test('counts calls, errors and refusals per group, with nearest-rank p50 and p95 of the answered calls', () => {
    // Twelve answered latencies (1..10, 100, 50): nearest rank puts p50 at the 6th and p95 at the 12th.
    const records = [
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((latencyMs) => record({ latencyMs })),
      record({ outcome: 'error', errorCode: 'upstream_timeout', latencyMs: 100 }),
      record({ isError: true, latencyMs: 50 }),
      record({ outcome: 'denied', errorCode: 'rate_limited', latencyMs: 0 }),
      record({ outcome: 'pending', latencyMs: null }),
      record({ server: 'jira', name: 'create', latencyMs: 30 }),
    ];
    const byServer = summariseUsage(records, 'server');
    assert.deepEqual(byServer, [
      { server: 'github', calls: 13, errors: 2, denied: 1, p50Ms: 6, p95Ms: 100 },
      { server: 'jira', calls: 1, errors: 0, denied: 0, p50Ms: 30, p95Ms: 30 },
    ]);
    assert.deepEqual(
      summariseUsage(records, 'tool').map(({ server, tool, calls }) => ({ server, tool, calls })),
      [
        { server: 'github', tool: 'search', calls: 13 },
        { server: 'jira', tool: 'create', calls: 1 },
      ],
    );
    assert.deepEqual(summariseUsage([record({ user: null, subject: 'k9' })], 'user')[0]?.user, 'k9', 'a caller without a name is its subject');
    assert.deepEqual(summariseUsage([record({ team: null })], 'team')[0]?.team, '');
  });
});

describe('GET /admin/api/v1/usage', () => {
  let gateway: Gateway;
  let url: string;

  before(async () => {
    const config = configSchema.parse({
      store: { url: 'memory:' },
      registry: { healthCheckIntervalMs: 0, watchConfig: false },
      audit: { queue: { flushMs: 10 } },
      servers: { everything: { ...everythingStdio, isolation: 'shared' } },
    });
    gateway = await Gateway.create(config, { logger: createLogger({ level: 'silent' }) });
    url = await gateway.listen({ port: 0 });
  });

  after(async () => {
    await gateway?.close();
  });

  test('reports the calls just made, by tool', { timeout: 120_000 }, async () => {
    const client = new Client({ name: 'usage', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
    try {
      for (let i = 0; i < 3; i++) await client.callTool({ name: 'everything__echo', arguments: { message: `hi ${i}` } });
      await client.callTool({ name: 'everything__no_such_tool', arguments: {} }).catch(() => undefined);
    } finally {
      await client.close();
    }
    // Records are written in batches off the hot path: ask until the echo calls are in.
    let groups: { server?: string; tool?: string; calls: number; errors: number; p50Ms: number | null }[] = [];
    for (let attempt = 0; attempt < 200; attempt++) {
      const response = await fetch(`${url}/admin/api/v1/usage?by=tool&since=1h`);
      assert.equal(response.status, 200);
      groups = ((await response.json()) as { groups: typeof groups }).groups;
      if ((groups.find((group) => group.tool === 'echo')?.calls ?? 0) >= 3) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const echo = groups.find((group) => group.server === 'everything' && group.tool === 'echo');
    assert.equal(echo?.calls, 3);
    assert.equal(echo?.errors, 0);
    assert.equal(typeof echo?.p50Ms, 'number');
    const bad = await fetch(`${url}/admin/api/v1/usage?by=planet`);
    assert.equal(bad.status, 400);
  });
});
