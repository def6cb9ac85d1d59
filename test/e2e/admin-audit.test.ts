// Admin API changes in the audit trail (issue #7), and `gatehouse usage`: a real gateway process with
// authentication, changes made and refused through the admin API, records read back through the API
// and the CLI, and the hash chain verified after them.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { AuditRecordView } from '../../src/admin/index.js';
import { Registry, openSqliteStore } from '../../src/registry/index.js';
import { admin, type AdminCall } from '../helpers/admin-api.js';
import { runCli } from '../helpers/cli.js';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';

const HEADER_SECRET = 'plain-header-value-7731';
const BEARER = `Bearer ${'b'.repeat(24)}`;
const CLIENT_SECRET = 'client-secret-literal-9902';
/** A port nothing listens on: the registered server is never reached (its records are what matter). */
const NOWHERE = 'http://127.0.0.1:9/mcp';

describe('admin API changes in the audit trail', () => {
  let gateway: GatewayProcess;
  let api: AdminCall;
  const tokens: Record<string, string> = {};
  const keyIds: Record<string, string> = {};
  const as = (role: string): Record<string, string> => ({ authorization: `Bearer ${tokens[role]}` });

  async function records(query: string): Promise<AuditRecordView[]> {
    const reply = await api('GET', `/audit?limit=1000&${query}`, undefined, as('admin'));
    assert.equal(reply.status, 200, reply.text);
    return reply.body.items as AuditRecordView[];
  }

  /** The whole trail as exported (JSON lines), to search for what must not be in it. */
  async function exportedTrail(): Promise<string> {
    const response = await fetch(`${gateway.url}/admin/api/v1/audit?format=jsonl`, { headers: as('admin') });
    assert.equal(response.status, 200);
    return response.text();
  }

  let markers = 0;
  /**
   * Makes a change that is refused (404) and waits until its record is written. Records are queued in
   * the order requests end and written in that order, so every record of an earlier request is in too.
   */
  async function settled(): Promise<void> {
    const marker = `marker-${++markers}`;
    const reply = await api('DELETE', `/keys/${marker}`, undefined, as('admin'));
    assert.equal(reply.status, 404, reply.text);
    const started = Date.now();
    while ((await records(`tool=${marker}`)).length === 0) {
      if (Date.now() - started > 30_000) assert.fail(`timed out waiting for the record of ${marker}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  before(async () => {
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 0 },
      servers: { everything: { ...everythingStdio, isolation: 'shared' } },
      auth: { required: true, policies: [{ description: 'everyone uses everything', who: { roles: ['admin', 'reader'] } }] },
      audit: { queue: { flushMs: 20 } },
    });
    api = admin(gateway);
    // The first admin key is made in the store, as `gatehouse keys create --config` does.
    const store = await openSqliteStore(join(gateway.configFile, '..', 'data', 'gatehouse.db'));
    try {
      const registry = await Registry.open({ store, separator: '__', defaultStatus: 'approved', stdioRegistration: { enabled: false, allowedCommands: [] } });
      for (const role of ['admin', 'reader']) {
        const issued = await registry.createApiKey({ name: `${role}-bot`, roles: [role], actor: 'test' });
        tokens[role] = issued.token;
        keyIds[role] = issued.record.id;
      }
    } finally {
      await store.close();
    }
  });

  after(async () => {
    await gateway?.close();
  });

  test('creating and rotating an API key each leave one record naming the caller and the key, and neither token is anywhere in the trail', async () => {
    const created = await api('POST', '/keys', { name: 'ci-bot', roles: ['reader'] }, as('admin'));
    assert.equal(created.status, 201, created.text);
    const { id, token } = created.body as { id: string; token: string };
    const rotated = await api('POST', `/keys/${id}/rotate`, {}, as('admin'));
    assert.equal(rotated.status, 201, rotated.text);
    const newToken = (rotated.body as { token: string }).token;
    await settled();

    const creations = await records(`method=${encodeURIComponent('admin/POST /keys')}`);
    assert.equal(creations.length, 1);
    const [record] = creations;
    assert.deepEqual(
      {
        method: record?.method,
        endpoint: record?.endpoint,
        server: record?.server,
        name: record?.name,
        subject: record?.subject,
        user: record?.user,
        identityKind: record?.identityKind,
        keyId: record?.keyId,
        sessionId: record?.sessionId,
        outcome: record?.outcome,
        errorCode: record?.errorCode,
        result: record?.result,
      },
      {
        method: 'admin/POST /keys',
        endpoint: '/admin/api/v1/keys',
        server: null,
        name: 'ci-bot',
        subject: keyIds.admin,
        user: 'admin-bot',
        identityKind: 'api-key',
        keyId: keyIds.admin,
        sessionId: null,
        outcome: 'ok',
        errorCode: null,
        result: '{"status":201}',
      },
    );
    assert.deepEqual(JSON.parse(record?.arguments ?? 'null'), { name: 'ci-bot', roles: ['reader'] });
    assert.ok(record?.latencyMs !== null && record!.latencyMs >= 0);
    assert.match(record?.hash ?? '', /^[0-9a-f]{64}$/);

    const rotations = await records(`method=${encodeURIComponent('admin/POST /keys/{id}/rotate')}`);
    assert.deepEqual(rotations.map((row) => [row.name, row.endpoint, row.outcome, row.result]), [[id, `/admin/api/v1/keys/${id}/rotate`, 'ok', '{"status":201}']]);

    const exported = await exportedTrail();
    assert.ok(!exported.includes(token), 'the created key\'s token is not recorded');
    assert.ok(!exported.includes(newToken), 'the rotated key\'s token is not recorded');
  });

  test('registering and approving a server each leave one record, with header values masked and secrets redacted', async () => {
    const registered = await api(
      'POST',
      '/servers',
      { name: 'web', url: NOWHERE, status: 'pending', headers: { 'X-Api-Auth': HEADER_SECRET, Authorization: BEARER }, tags: ['demo'] },
      as('admin'),
    );
    assert.equal(registered.status, 201, registered.text);
    const approved = await api('POST', '/servers/web/approve', {}, as('admin'));
    assert.equal(approved.status, 200, approved.text);
    // Whether the registry takes a literal client secret or not, the request carrying it is recorded without it.
    const withSecret = await api('POST', '/servers', { name: 'vault', url: NOWHERE, oauth: { tokenUrl: 'http://127.0.0.1:9/token', clientId: 'gw', clientSecret: CLIENT_SECRET } }, as('admin'));
    await settled();

    const [registration, ...more] = await records(`method=${encodeURIComponent('admin/POST /servers')}&tool=web`);
    assert.equal(more.length, 0);
    assert.deepEqual([registration?.server, registration?.name, registration?.outcome, registration?.result], ['web', 'web', 'ok', '{"status":201}']);
    assert.deepEqual(JSON.parse(registration?.arguments ?? 'null'), {
      name: 'web',
      url: NOWHERE,
      status: 'pending',
      // Masked as the API shows them; a name the redaction fields cover is then redacted whole.
      headers: { 'X-Api-Auth': '***', Authorization: '[REDACTED]' },
      tags: ['demo'],
    });
    const approvals = await records(`method=${encodeURIComponent('admin/POST /servers/{name}/approve')}`);
    assert.deepEqual(approvals.map((row) => [row.server, row.name, row.endpoint, row.outcome, row.arguments]), [['web', 'web', '/admin/api/v1/servers/web/approve', 'ok', '{}']]);
    // `--server web` finds what was done to the server, beside its calls.
    assert.deepEqual((await records('server=web')).map((row) => row.method).sort(), ['admin/POST /servers', 'admin/POST /servers/{name}/approve']);

    const [vault] = await records('tool=vault');
    assert.equal(vault?.result, `{"status":${withSecret.status}}`);
    assert.equal((JSON.parse(vault?.arguments ?? 'null') as { oauth: { clientSecret: string } }).oauth.clientSecret, '[REDACTED]');
    const exported = await exportedTrail();
    for (const secret of [HEADER_SECRET, BEARER, CLIENT_SECRET]) assert.ok(!exported.includes(secret), `${secret} is not recorded`);
  });

  test('a change refused for the caller\'s role, and one that fails, each leave one record saying so', async () => {
    const refused = await api('POST', '/servers', { name: 'sneaky', url: NOWHERE }, as('reader'));
    assert.equal(refused.status, 403, refused.text);
    const unauthenticated = await api('DELETE', '/policies/anything');
    assert.equal(unauthenticated.status, 401, unauthenticated.text);
    const missing = await api('DELETE', '/servers/ghost', undefined, as('admin'));
    assert.equal(missing.status, 404, missing.text);
    const invalid = await api('POST', '/keys', { name: 'no-roles', password: 'hunter2' }, as('admin'));
    assert.equal(invalid.status, 400, invalid.text);
    await settled();

    const [denied, ...otherDenials] = await records(`outcome=denied&user=${keyIds.reader}`);
    assert.equal(otherDenials.length, 0);
    assert.deepEqual(
      [denied?.method, denied?.subject, denied?.user, denied?.errorCode, denied?.result, denied?.arguments, denied?.endpoint],
      ['admin/POST /servers', keyIds.reader, 'reader-bot', 'forbidden', '{"status":403}', null, '/admin/api/v1/servers'],
    );
    assert.ok(denied?.latencyMs !== null && denied!.latencyMs >= 0);
    const strangers = await records('outcome=denied&user=anonymous');
    assert.deepEqual(
      strangers.map((row) => [row.method, row.identityKind, row.name, row.errorCode, row.result]),
      [['admin/DELETE /policies/{id}', 'anonymous', 'anything', 'unauthorized', '{"status":401}']],
    );

    const deletions = await records(`method=${encodeURIComponent('admin/DELETE /servers/{name}')}`);
    assert.deepEqual(deletions.map((row) => [row.server, row.name, row.outcome, row.errorCode, row.result]), [['ghost', 'ghost', 'error', 'server_not_found', '{"status":404}']]);
    const [bad, ...others] = await records('tool=no-roles');
    assert.equal(others.length, 0);
    assert.deepEqual([bad?.method, bad?.outcome, bad?.errorCode, bad?.result], ['admin/POST /keys', 'error', 'invalid_body', '{"status":400}']);
    assert.deepEqual(JSON.parse(bad?.arguments ?? 'null'), { name: 'no-roles', password: '[REDACTED]' });
  });

  test('read-only admin requests leave no record', async () => {
    await settled();
    const before = (await records('')).length;
    for (const path of ['/servers', '/servers/web', '/keys', '/policies', '/status', '/audit', '/usage', '/audit/verify']) {
      const reply = await api('GET', path, undefined, as('admin'));
      assert.equal(reply.status, 200, `${path}: ${reply.text}`);
    }
    assert.equal((await api('GET', '/keys', undefined, as('reader'))).status, 403);
    await settled();
    assert.equal((await records('')).length, before + 1, 'only the marker change was recorded');
  });

  test('gatehouse audit search --method finds admin changes, and gatehouse audit verify passes after them', async () => {
    await settled();
    const env = { GATEHOUSE_URL: gateway.url, GATEHOUSE_TOKEN: tokens.admin };
    const found = await runCli(['audit', 'search', '--method', 'admin/POST /servers', '--json'], env);
    assert.equal(found.code, 0, found.stderr);
    const lines = found.stdout.trim().split('\n').map((line) => JSON.parse(line) as AuditRecordView);
    assert.deepEqual(lines.map((line) => line.id), (await records(`method=${encodeURIComponent('admin/POST /servers')}`)).map((record) => record.id));
    assert.ok(lines.length >= 3);
    const table = await runCli(['audit', 'search', '--method', 'admin/DELETE /servers/{name}'], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^TIME +USER +ENDPOINT +SERVER +NAME +OUTCOME +MS\n.*admin-bot +\/admin\/api\/v1\/servers\/ghost +ghost +admin\/DELETE \/servers\/\{name\} +error: server_not_found /);

    const verify = await runCli(['audit', 'verify'], env);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /ok: every chain verifies/);
  });

  test('gatehouse usage prints the calls made, by tool and by user, leaving admin changes out', async () => {
    const client = new Client({ name: 'usage-e2e', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), { requestInit: { headers: as('reader') } }));
    try {
      for (let i = 0; i < 3; i++) await client.callTool({ name: 'everything__echo', arguments: { message: `hi ${i}` } });
      await client.callTool({ name: 'everything__get-sum', arguments: { a: 1, b: 2 } });
    } finally {
      await client.close();
    }
    await settled();

    const env = { GATEHOUSE_URL: gateway.url, GATEHOUSE_TOKEN: tokens.admin };
    const byTool = await runCli(['usage', '--by', 'tool', '--since', '1h'], env);
    assert.equal(byTool.code, 0, byTool.stderr);
    const [header, ...rows] = byTool.stdout.trimEnd().split('\n');
    assert.match(header!, /^SERVER +TOOL +CALLS +ERRORS +DENIED +P50 MS +P95 MS$/);
    assert.deepEqual(
      rows.map((row) => row.split(/ +/).slice(0, 5)),
      [
        ['everything', 'echo', '3', '0', '0'],
        ['everything', 'get-sum', '1', '0', '0'],
      ],
    );
    assert.equal(header!.indexOf('CALLS'), rows[0]!.indexOf('3'), 'columns line up');

    const byUser = await runCli(['usage', '--by', 'user', '--since', '1h', '--json'], env);
    assert.equal(byUser.code, 0, byUser.stderr);
    const report = JSON.parse(byUser.stdout) as { by: string; groups: { user: string; calls: number; errors: number }[] };
    assert.equal(report.by, 'user');
    // The admin bot changed plenty through the API and called nothing.
    assert.deepEqual(report.groups.map(({ user, calls, errors }) => ({ user, calls, errors })), [{ user: 'reader-bot', calls: 4, errors: 0 }]);

    const wrong = await runCli(['usage', '--by', 'planet'], env);
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /planet/);
  });
});
