// Health checks feed routing: one server with two replicas (`urls`) and a `healthPath`. A replica
// whose health endpoint starts failing takes no new sessions and the sessions on it move to the other;
// once it passes again it takes sessions again. Real processes on loopback; the replicas' health
// answers are switched through the fixture's own PUT /healthz, and the test waits on the gateway's
// admin API (what the health checks concluded), never on a sleep.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { admin, type AdminCall } from '../helpers/admin-api.js';
import { startReplica, whoami, type Replica } from '../helpers/replicas.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js';

const TIMEOUT = { timeout: 180_000 };

/** Sets what the replica's GET /healthz answers. */
async function setHealth(replica: Replica, status: number): Promise<void> {
  const response = await fetch(new URL(`/healthz?status=${status}`, replica.url), { method: 'PUT' });
  assert.equal(response.status, 204);
}

type EndpointView = { url: string; healthy: boolean; lastError?: string };

/** Polls the admin API until the endpoint's `healthy` is `healthy` (the health checks run every 200 ms). */
async function waitForHealth(api: AdminCall, url: string, healthy: boolean): Promise<EndpointView> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const view = await api('GET', '/servers/svc');
    const endpoints = (view.body['runtime'] as { endpoints?: EndpointView[] } | undefined)?.endpoints ?? [];
    const endpoint = endpoints.find((candidate) => candidate.url === url);
    if (endpoint?.healthy === healthy) return endpoint;
    if (Date.now() > deadline) throw new Error(`endpoint ${url} did not become ${healthy ? 'healthy' : 'unhealthy'}: ${JSON.stringify(endpoints)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('health checks feed routing', () => {
  let gateway: GatewayProcess;
  let api: AdminCall;
  const replicas: Replica[] = [];
  const clients: Client[] = [];

  async function connect(): Promise<Client> {
    const client = new Client({ name: 'health', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/servers/svc/mcp`)));
    clients.push(client);
    return client;
  }

  before(async () => {
    replicas.push(...(await Promise.all(['a', 'b'].map((name) => startReplica(name)))));
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 200, healthCheckTimeoutMs: 5_000 },
      servers: { svc: { urls: replicas.map((replica) => replica.url), healthPath: '/healthz' } },
    });
    api = admin(gateway);
  });

  after(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await gateway?.close();
    await Promise.allSettled(replicas.map((replica) => replica.close()));
  });

  test('a replica failing its health path takes no new sessions, its sessions move, and it takes sessions again once healthy', TIMEOUT, async () => {
    const [a, b] = replicas as [Replica, Replica];
    await waitForHealth(api, a.url, true);
    await waitForHealth(api, b.url, true);
    // Sessions until one is on b.
    let onB: Client | undefined;
    for (let attempt = 0; attempt < 20 && onB === undefined; attempt++) {
      const client = await connect();
      if ((await whoami(client)) === 'b') onB = client;
    }
    assert.ok(onB, 'no session was placed on replica b in 20 tries');

    await setHealth(b, 503);
    const seen = await waitForHealth(api, b.url, false);
    assert.match(seen.lastError ?? '', /answered 503/);
    // The session that was on b goes on on a, and every new session goes to a.
    assert.equal(await whoami(onB), 'a');
    for (let index = 0; index < 6; index++) assert.equal(await whoami(await connect()), 'a');

    await setHealth(b, 200);
    await waitForHealth(api, b.url, true);
    const served = new Set<string>();
    for (let attempt = 0; attempt < 20 && !served.has('b'); attempt++) served.add(await whoami(await connect()));
    assert.ok(served.has('b'), 'replica b took no new session after passing its health check again');
  });
});
