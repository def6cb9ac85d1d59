// One server with three replicas (`urls`) behind a gateway process: client sessions are spread over
// the replicas and each stays on its own; when a replica dies, the sessions on it move to the others,
// read-only calls that were in flight or sent to it are retried elsewhere and succeed, and a call that
// may change something is not sent twice. Real processes on loopback; the replica that served a call
// names itself in the answer, and kills are timed on the replica's own "started" line, never a sleep.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { Client as ModernClient, StreamableHTTPClientTransport as ModernTransport } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { admin } from '../helpers/admin-api.js';
import { startReplica, whoami, type Replica } from '../helpers/replicas.js';
import { textOf } from '../helpers/results.js';
import { startGateway, waitFor, type GatewayProcess } from '../helpers/gateway-process.js';

const TIMEOUT = { timeout: 180_000 };
const CALL = { timeout: 60_000 };
const SESSIONS = 12;

describe('replicas of one server: sessions spread, stick, and fail over', () => {
  let gateway: GatewayProcess;
  const replicas: Replica[] = [];
  /** Each client session and the replica its first call reached. */
  const sessions: { client: Client; replica: string }[] = [];

  async function connect(): Promise<Client> {
    const client = new Client({ name: 'replicas', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/servers/svc/mcp`)));
    return client;
  }

  before(async () => {
    replicas.push(...(await Promise.all(['a', 'b', 'c'].map((name) => startReplica(name)))));
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 0 },
      servers: { svc: { urls: replicas.map((replica) => replica.url) } },
    });
  });

  after(async () => {
    await Promise.allSettled(sessions.map(({ client }) => client.close()));
    await gateway?.close();
    await Promise.allSettled(replicas.map((replica) => replica.close()));
  });

  test('new sessions are spread over the replicas, and each session stays on its replica', TIMEOUT, async () => {
    for (let index = 0; index < SESSIONS; index++) {
      const client = await connect();
      sessions.push({ client, replica: await whoami(client) });
    }
    const served = new Set(sessions.map((session) => session.replica));
    assert.deepEqual([...served].sort(), ['a', 'b', 'c'], `sessions went to ${sessions.map((session) => session.replica).join(',')}`);
    // Sticky: the upstream session lives on one replica, so every later call of a session goes there.
    for (const session of sessions) assert.equal(await whoami(session.client), session.replica);
    const view = await admin(gateway)('GET', '/servers/svc');
    const runtime = view.body['runtime'] as { circuit: string; endpoints: { url: string; sessions: number; circuit: string; ewmaMs: number | null }[] };
    assert.equal(runtime.circuit, 'closed');
    assert.deepEqual(
      runtime.endpoints.map((endpoint) => endpoint.url),
      replicas.map((replica) => replica.url),
    );
    for (const endpoint of runtime.endpoints) {
      assert.ok(endpoint.sessions >= 1, JSON.stringify(endpoint));
      assert.equal(endpoint.circuit, 'closed');
      assert.equal(typeof endpoint.ewmaMs, 'number');
    }
  });

  test('a replica that died: its sessions\' read-only calls are retried on another, and new sessions avoid it', TIMEOUT, async () => {
    const dead = replicas[0]!;
    await dead.close();
    const orphans = sessions.filter((session) => session.replica === dead.name);
    assert.ok(orphans.length > 0);
    for (const orphan of orphans) {
      const now = await whoami(orphan.client);
      assert.notEqual(now, dead.name);
      // The session was re-established there and stays.
      assert.equal(await whoami(orphan.client), now);
      orphan.replica = now;
    }
    for (let index = 0; index < 3; index++) {
      const client = await connect();
      const replica = await whoami(client);
      sessions.push({ client, replica });
      assert.notEqual(replica, dead.name);
    }
    const view = await admin(gateway)('GET', '/servers/svc');
    const runtime = view.body['runtime'] as { circuit: string; endpoints: { url: string; down: boolean; sessions: number }[] };
    assert.equal(runtime.circuit, 'closed');
    const deadView = runtime.endpoints.find((endpoint) => endpoint.url === dead.url);
    assert.equal(deadView?.down, true);
    assert.equal(deadView?.sessions, 0);
  });

  test('a replica dying under calls: the read-only one is retried elsewhere, the one that may change something is not', TIMEOUT, async () => {
    const dying = replicas[1]!;
    const survivor = replicas[2]!;
    const session = sessions.find((candidate) => candidate.replica === dying.name);
    assert.ok(session, 'a session on the replica that will die');
    const writesBefore = survivor.started.filter((tool) => tool === 'slow_write').length;
    // Long enough to be in flight when the replica is killed, short enough to finish on the survivor.
    const read = session.client.callTool({ name: 'slow_read', arguments: { ms: 4_000 } }, undefined, CALL);
    const write = session.client.callTool({ name: 'slow_write', arguments: { ms: 4_000 } }, undefined, CALL);
    await waitFor(() => dying.started.includes('slow_read') && dying.started.includes('slow_write'), 60_000, 'both calls to reach the replica');
    await dying.close();
    const [readResult, writeResult] = await Promise.all([read, write]);
    assert.notEqual(readResult.isError, true, textOf(readResult));
    assert.equal(textOf(readResult), survivor.name);
    assert.equal(writeResult.isError, true);
    assert.match(textOf(writeResult), /connection/i);
    assert.equal(survivor.started.filter((tool) => tool === 'slow_write').length, writesBefore, 'the write was not sent again');
  });
});

describe('a fallback server takes the tool calls its primary cannot', () => {
  let gateway: GatewayProcess;
  let primary: Replica;
  let backup: Replica;
  let client: Client;

  before(async () => {
    [primary, backup] = await Promise.all([startReplica('primary'), startReplica('backup')]);
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 0 },
      servers: { main: { url: primary.url, fallback: 'spare' }, spare: { url: backup.url } },
    });
    client = new Client({ name: 'fallback', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
    await Promise.allSettled([primary?.close(), backup?.close()]);
  });

  test('while the primary is up it answers; once it is gone the same tool on the fallback does, read-only or not', TIMEOUT, async () => {
    assert.equal(textOf(await client.callTool({ name: 'main__whoami', arguments: {} }, undefined, CALL)), 'primary');
    await primary.close();
    const read = await client.callTool({ name: 'main__whoami', arguments: {} }, undefined, CALL);
    assert.equal(textOf(read), 'backup');
    // Nothing reached the primary (it cannot be connected to), so even a call that may change something goes.
    const write = await client.callTool({ name: 'main__write', arguments: {} }, undefined, CALL);
    assert.equal(textOf(write), 'backup');
  });
});

describe('a 2026-07-28 caller, which has no session, fails over request by request', () => {
  let gateway: GatewayProcess;
  const replicas: Replica[] = [];
  let client: ModernClient;

  before(async () => {
    replicas.push(...(await Promise.all(['x', 'y'].map((name) => startReplica(name)))));
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 0 },
      servers: { svc: { urls: replicas.map((replica) => replica.url) } },
    });
    client = new ModernClient({ name: 'stateless', version: '1' }, { capabilities: {}, versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(new ModernTransport(new URL(`${gateway.url}/servers/svc/mcp`)));
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
    await Promise.allSettled(replicas.map((replica) => replica.close()));
  });

  test('the replica serving it dies: the next request, read-only or not, is answered by the other', TIMEOUT, async () => {
    const first = textOf(await client.callTool({ name: 'whoami', arguments: {} }));
    const dead = replicas.find((replica) => replica.name === first);
    assert.ok(dead, `answered by ${first}`);
    await dead.close();
    const read = await client.callTool({ name: 'whoami', arguments: {} });
    assert.notEqual(read.isError, true, textOf(read));
    assert.notEqual(textOf(read), first);
    const write = await client.callTool({ name: 'write', arguments: {} });
    assert.notEqual(write.isError, true, textOf(write));
    assert.notEqual(textOf(write), first);
  });
});

describe('replicas that list different tools', () => {
  let gateway: GatewayProcess;
  const replicas: Replica[] = [];
  let client: Client;
  let listChanged: () => void = () => {};

  before(async () => {
    replicas.push(...(await Promise.all(['p', 'q'].map((name) => startReplica(name, { EXTRA_TOOL: '1' })))));
    gateway = await startGateway({
      // Health checks run on the gateway's own connection to the server: they find the dead replica.
      registry: { healthCheckIntervalMs: 200 },
      servers: { svc: { urls: replicas.map((replica) => replica.url) } },
    });
    client = new Client({ name: 'lists', version: '1' });
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => listChanged());
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`)));
  });

  after(async () => {
    await client?.close();
    await gateway?.close();
    await Promise.allSettled(replicas.map((replica) => replica.close()));
  });

  test('when the replica the lists came from dies, clients are told the tools changed and see the other\'s', TIMEOUT, async () => {
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    const listedFrom = replicas.find((replica) => names.includes(`svc__extra_${replica.name}`));
    assert.ok(listedFrom, names.join(','));
    const other = replicas.find((replica) => replica !== listedFrom)!;
    const told = new Promise<void>((resolve) => (listChanged = resolve));
    await listedFrom.close();
    await told;
    const now = (await client.listTools()).tools.map((tool) => tool.name);
    assert.ok(now.includes(`svc__extra_${other.name}`), now.join(','));
    assert.ok(!now.includes(`svc__extra_${listedFrom.name}`), now.join(','));
  });
});
