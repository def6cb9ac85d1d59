// The admin REST API against the real gateway process: servers and virtual servers created, changed
// and removed over HTTP, the config file's records read-only, search and pagination, import and
// export, the change log, and the API's own defences (content type, Origin, body validation).
// Upstreams are real MCP servers on loopback: server-everything over Streamable HTTP and over stdio.
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { serverDetailSchema, serverItemSchema, serverListSchema, virtualServerItemSchema } from '../../src/admin/index.js';
import { fixturePath, repoRoot, startHttpFixture, type HttpFixture } from '../fixtures/spawn-fixture.js';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { admin, type ApiReply } from '../helpers/admin-api.js';



/** Polls the API until `check` holds: the gateway applies registry changes and learns lists in the background. */
async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function names(reply: ApiReply): string[] {
  return (reply.body.items as { name: string }[]).map((item) => item.name);
}

describe('the admin API', () => {
  let upstream: HttpFixture;
  let gateway: GatewayProcess;
  let api: ReturnType<typeof admin>;

  before(async () => {
    upstream = await startHttpFixture(fixturePath('everything-http.ts'));
    gateway = await startGateway({
      registry: { healthCheckIntervalMs: 500 },
      servers: { fromfile: { ...everythingStdio, tags: ['local'], title: 'Everything from the file' } },
      virtualServers: { filevirtual: { tools: [{ server: 'fromfile', name: 'echo' }] } },
    });
    api = admin(gateway);
  });

  after(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  test('serves its OpenAPI document', async () => {
    const reply = await api('GET', '/openapi.json');
    assert.equal(reply.status, 200);
    assert.equal(reply.body.openapi, '3.1.0');
    const paths = reply.body.paths as Record<string, unknown>;
    for (const path of ['/servers', '/servers/{name}', '/virtual-servers', '/import', '/export', '/events', '/status', '/health']) assert.ok(path in paths, path);
  });

  test('GET /status reports the gateway and counts', async () => {
    const reply = await api('GET', '/status');
    assert.equal(reply.status, 200);
    assert.equal(typeof reply.body.version, 'string');
    assert.deepEqual(reply.body.counts, { servers: 1, approved: 1, pending: 0, disabled: 0, virtualServers: 1 });
  });

  test('lists the config file\'s records as read-only and refuses to change them (409 read_only_record)', async () => {
    const list = await api('GET', '/servers');
    assert.equal(list.status, 200);
    const item = serverListSchema.parse(list.body).items.find((server) => server.name === 'fromfile');
    assert.ok(item);
    assert.equal(item.source, 'file');
    assert.equal(item.readOnly, true);
    assert.equal(item.status, 'approved');
    assert.equal(item.endpoint, `${gateway.url}/servers/fromfile/mcp`);

    const attempts = [
      await api('PUT', '/servers/fromfile', { url: upstream.url }),
      await api('DELETE', '/servers/fromfile'),
      await api('POST', '/servers/fromfile/disable'),
      await api('PUT', '/virtual-servers/filevirtual', { tools: [] }),
      await api('DELETE', '/virtual-servers/filevirtual'),
    ];
    for (const reply of attempts) {
      assert.equal(reply.status, 409, JSON.stringify(reply.body));
      assert.equal(reply.body.error?.code, 'read_only_record');
    }
  });

  test('creates, shows, replaces, disables, enables and deletes an HTTP server', async () => {
    const created = await api('POST', '/servers', {
      name: 'web',
      url: upstream.url,
      headers: { Authorization: 'Bearer very-secret' },
      title: 'Everything over HTTP',
      tags: ['demo', 'http'],
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const item = serverItemSchema.parse(created.body);
    assert.equal(item.status, 'approved');
    assert.equal(item.source, 'api');
    assert.equal(item.readOnly, false);
    assert.equal(item.transport, 'streamable-http');
    assert.ok(item.spec.transport !== 'stdio' && item.spec.headers.Authorization === '***', 'header values are masked');
    assert.doesNotMatch(JSON.stringify(created.body), /very-secret/);

    // Approved means served: the gateway connects and learns the server's tools.
    const detail = await eventually(
      () => api('GET', '/servers/web'),
      (reply) => reply.body.runtime !== null && (reply.body.runtime as { state: string }).state === 'ready' && reply.body.learnt !== null,
      'web to be ready and listed',
    );
    const shown = serverDetailSchema.parse(detail.body);
    const echo = shown.learnt?.tools.find((tool) => tool.name === 'echo');
    assert.ok(echo, 'the learnt tools include echo');
    assert.match(echo.fingerprint, /^[0-9a-f]{64}$/);
    assert.equal(typeof echo.firstSeenAt, 'string');
    assert.equal(echo.changed, false);
    assert.doesNotMatch(JSON.stringify(detail.body), /very-secret/);

    const tools = await api('GET', '/servers/web/tools');
    assert.equal(tools.status, 200);
    assert.ok((tools.body.items as { name: string }[]).some((tool) => tool.name === 'echo'));

    // A PUT of the spec as shown (masked) keeps the stored secret and the status.
    const replaced = await api('PUT', '/servers/web', { ...shown.spec, title: 'Renamed' });
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.equal(replaced.body.title, 'Renamed');
    assert.equal(replaced.body.status, 'approved');

    const disabled = await api('POST', '/servers/web/disable');
    assert.equal(disabled.status, 200);
    assert.equal(disabled.body.status, 'disabled');
    await eventually(() => api('GET', '/servers/web'), (reply) => reply.body.runtime === null, 'web to stop');

    const enabled = await api('POST', '/servers/web/enable');
    assert.equal(enabled.body.status, 'approved');
    const approvedAgain = await api('POST', '/servers/web/approve');
    assert.equal(approvedAgain.body.status, 'approved');

    const deleted = await api('DELETE', '/servers/web');
    assert.equal(deleted.status, 204);
    const gone = await api('GET', '/servers/web');
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error?.code, 'server_not_found');
  });

  test('a server registered as pending is not served until approved', async () => {
    const created = await api('POST', '/servers', { name: 'waiting', url: upstream.url, status: 'pending' });
    assert.equal(created.status, 201);
    assert.equal(created.body.status, 'pending');
    assert.equal(created.body.runtime, null);
    const approved = await api('POST', '/servers/waiting/approve');
    assert.equal(approved.body.status, 'approved');
    await eventually(() => api('GET', '/servers/waiting'), (reply) => (reply.body.runtime as { state?: string } | null)?.state === 'ready', 'waiting to be served');
    assert.equal((await api('DELETE', '/servers/waiting')).status, 204);
  });

  test('a name already used by a server or a virtual server is refused (409 name_taken)', async () => {
    for (const reply of [
      await api('POST', '/servers', { name: 'fromfile', url: upstream.url }),
      await api('POST', '/servers', { name: 'filevirtual', url: upstream.url }),
      await api('POST', '/virtual-servers', { name: 'fromfile', tools: [] }),
    ]) {
      assert.equal(reply.status, 409, JSON.stringify(reply.body));
      assert.equal(reply.body.error?.code, 'name_taken');
    }
  });

  test('registering a stdio server is refused by default (403 command_not_allowed)', async () => {
    const reply = await api('POST', '/servers', { name: 'local', command: 'node', args: ['server.js'] });
    assert.equal(reply.status, 403);
    assert.equal(reply.body.error?.code, 'command_not_allowed');
    assert.equal((await api('GET', '/servers/local')).status, 404);
  });

  test('invalid bodies are 400 invalid_body naming the field', async () => {
    const cases: [unknown, string][] = [
      [{ name: 'bad name!', url: upstream.url }, 'name'],
      [{ name: 'ftp', url: 'ftp://127.0.0.1/mcp' }, 'url'],
      [{ name: 'typo', url: upstream.url, tgas: ['x'] }, 'tgas'],
      [{ url: upstream.url }, 'name'],
      [{ name: 'neither' }, 'transport'],
      [{ name: 'badtag', url: upstream.url, tags: ['no spaces'] }, 'tags.0'],
    ];
    for (const [body, field] of cases) {
      const reply = await api('POST', '/servers', body);
      assert.equal(reply.status, 400, JSON.stringify(body));
      assert.equal(reply.body.error?.code, 'invalid_body');
      const issues = reply.body.error?.issues as { path: string; message: string }[];
      assert.ok(issues.some((issue) => issue.path === field), `${field} in ${JSON.stringify(issues)}`);
      assert.ok(reply.body.error?.message.includes(field), reply.body.error?.message);
    }
    const virtual = await api('POST', '/virtual-servers', { name: 'v', tools: [{ server: 'fromfile', name: 'get_*', as: 'x' }] });
    assert.equal(virtual.status, 400);
    assert.ok((virtual.body.error?.issues as { path: string }[]).some((issue) => issue.path === 'tools.0.as'));
  });

  test('a body that is not JSON is 400 parse_error; a query that does not parse is 400 invalid_query', async () => {
    const broken = await api('POST', '/servers', '{"name": ');
    assert.equal(broken.status, 400);
    assert.equal(broken.body.error?.code, 'parse_error');
    for (const query of ['limit=0', 'limit=501', 'limit=many', 'status=gone', 'cursor=garbage', 'unknown=1']) {
      const reply = await api('GET', `/servers?${query}`);
      assert.equal(reply.status, 400, query);
      assert.equal(reply.body.error?.code, 'invalid_query', query);
    }
  });

  test('a body sent as anything but application/json is 415', async () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const reply = await api('POST', '/servers', JSON.stringify({ name: 'form', url: upstream.url }), { 'content-type': contentType });
      assert.equal(reply.status, 415, contentType);
      assert.equal(reply.body.error?.code, 'unsupported_media_type');
    }
    const charset = await api('POST', '/servers/fromfile/approve', '', { 'content-type': 'application/json; charset=utf-8' });
    assert.equal(charset.status, 409, 'application/json with a charset is JSON');
    assert.equal((await api('GET', '/servers/form')).status, 404);
  });

  test('a request from a foreign Origin is refused (403)', async () => {
    const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(
        `${gateway.url}/admin/api/v1/servers`,
        { method: 'POST', headers: { origin: 'http://evil.example', 'content-type': 'application/json' }, agent: false },
        (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        },
      );
      request.on('error', reject);
      request.end(JSON.stringify({ name: 'evil', url: upstream.url }));
    });
    assert.equal(reply.status, 403);
    assert.match(reply.body, /forbidden_origin/);
    assert.equal((await api('GET', '/servers/evil')).status, 404);
    // A page on the gateway's own loopback origin (the admin UI) is let through.
    const own = await api('GET', '/status', undefined, { origin: gateway.url });
    assert.equal(own.status, 200);
  });

  test('pages through servers with an opaque cursor', async () => {
    const created = ['page-a', 'page-b', 'page-c', 'page-d', 'page-e'];
    for (const name of created) assert.equal((await api('POST', '/servers', { name, url: 'http://127.0.0.1:9/mcp', status: 'pending', tags: ['paged'] })).status, 201);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const reply = await api('GET', `/servers?tag=paged&limit=2${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      assert.equal(reply.status, 200);
      assert.ok((reply.body.items as unknown[]).length <= 2);
      seen.push(...names(reply));
      cursor = reply.body.nextCursor as string | undefined;
      pages += 1;
    } while (cursor !== undefined);
    assert.deepEqual(seen, created);
    assert.equal(pages, 3);
    for (const name of created) assert.equal((await api('DELETE', `/servers/${name}`)).status, 204);
  });

  test('searches by text, tag and status, and names the tools that matched', async () => {
    await api('POST', '/servers', { name: 'search-http', url: 'http://127.0.0.1:9/mcp', status: 'pending', tags: ['alpha'], description: 'Finds weather forecasts' });
    await api('POST', '/servers', { name: 'search-other', url: 'http://127.0.0.1:9/mcp', status: 'disabled', tags: ['beta'] });
    try {
      assert.deepEqual(names(await api('GET', '/servers?q=weather')), ['search-http']);
      assert.deepEqual(names(await api('GET', '/servers?tag=beta')), ['search-other']);
      assert.deepEqual(names(await api('GET', '/servers?status=pending')), ['search-http']);
      assert.deepEqual(names(await api('GET', '/servers?status=disabled&tag=alpha')), []);
      // A tool's description is searched once the gateway has listed the server's tools.
      const byTool = await eventually(
        () => api('GET', '/servers?q=echo'),
        (reply) => names(reply).includes('fromfile'),
        'fromfile\'s tools to be learnt',
      );
      const hit = serverListSchema.parse(byTool.body).items.find((item) => item.name === 'fromfile');
      assert.ok(hit?.matchedTools?.includes('echo'), JSON.stringify(hit?.matchedTools));
    } finally {
      await api('DELETE', '/servers/search-http');
      await api('DELETE', '/servers/search-other');
    }
  });

  test('creates, lists, shows, replaces and deletes a virtual server', async () => {
    const created = await api('POST', '/virtual-servers', { name: 'curated', title: 'Just echo', tools: [{ server: 'fromfile', name: 'echo' }] });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const item = virtualServerItemSchema.parse(created.body);
    assert.equal(item.endpoint, `${gateway.url}/servers/curated/mcp`);
    assert.equal(item.readOnly, false);

    const list = await api('GET', '/virtual-servers');
    assert.deepEqual(names(list), ['curated', 'filevirtual']);
    assert.equal((list.body.items as { readOnly: boolean }[])[1]?.readOnly, true);

    const replaced = await api('PUT', '/virtual-servers/curated', { title: 'Echo and add', tools: [{ server: 'fromfile', name: 'echo' }, { server: 'fromfile', name: 'get-sum' }] });
    assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
    assert.equal((await api('GET', '/virtual-servers/curated')).body.title, 'Echo and add');

    assert.equal((await api('DELETE', '/virtual-servers/curated')).status, 204);
    const gone = await api('GET', '/virtual-servers/curated');
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error?.code, 'server_not_found');
  });

  test('imports the sample client configs and server.json documents; stdio entries are refused here', async () => {
    const outcome = await importEverySample(api);
    assert.ok(outcome.created > 0, 'the remote servers are registered');
    assert.ok(outcome.failed.length > 0, 'the stdio ones are not');
    for (const failure of outcome.failed) assert.equal(failure.code, 'command_not_allowed', JSON.stringify(failure));
  });

  test('import renames entries, reports clashes per entry and keeps going', async () => {
    const document = { mcpServers: { remote: { url: 'http://127.0.0.1:9/mcp' }, fromfile: { url: 'http://127.0.0.1:9/mcp' }, local: { command: 'npx', args: ['-y', 'some-server'] } } };
    const reply = await api('POST', '/import', { format: 'mcpServers', document, names: { remote: 'renamed' } });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.deepEqual((reply.body.created as { name: string }[]).map((server) => server.name), ['renamed']);
    const failed = Object.fromEntries((reply.body.failed as { name: string; error: { code: string } }[]).map((failure) => [failure.name, failure.error.code]));
    assert.deepEqual(failed, { fromfile: 'name_taken', local: 'command_not_allowed' });
    assert.equal((await api('DELETE', '/servers/renamed')).status, 204);
    const bad = await api('POST', '/import', { format: 'mcpServers', document: { nothing: true } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error?.code, 'invalid_body');
  });

  test('exports client configs for Claude, Cursor and VS Code, direct and through the gateway', async () => {
    assert.equal((await api('POST', '/servers', { name: 'exported', url: upstream.url, headers: { 'X-Api-Key': 'hush' } })).status, 201);
    try {
      for (const format of ['claude', 'cursor'] as const) {
        const direct = await api('GET', `/export?format=${format}&target=direct`);
        assert.equal(direct.status, 200, JSON.stringify(direct.body));
        const servers = direct.body.mcpServers as Record<string, Record<string, unknown>>;
        assert.ok(servers.exported, JSON.stringify(direct.body));
        // Claude Desktop's file holds stdio servers only: an HTTP server goes through the mcp-remote bridge.
        if (format === 'cursor') assert.equal(servers.exported.url, upstream.url);
        else assert.ok((servers.exported.args as string[]).includes(upstream.url), JSON.stringify(servers.exported));
        assert.doesNotMatch(JSON.stringify(direct.body), /hush/);
        assert.ok(servers.fromfile, 'file servers are exported too');
        assert.equal(servers.filevirtual, undefined, 'a virtual server has no direct address');

        const through = await api('GET', `/export?format=${format}&target=gateway`);
        assert.equal(through.status, 200);
        const entries = through.body.mcpServers as Record<string, Record<string, unknown>>;
        assert.equal(JSON.stringify(entries.exported).includes(`${gateway.url}/servers/exported/mcp`), true, JSON.stringify(entries.exported));
        assert.equal(JSON.stringify(entries.filevirtual).includes(`${gateway.url}/servers/filevirtual/mcp`), true, JSON.stringify(entries));
      }
      const vscode = await api('GET', '/export?format=vscode&target=gateway&servers=exported');
      assert.equal(vscode.status, 200);
      const vscodeServers = vscode.body.servers as Record<string, Record<string, unknown>>;
      assert.deepEqual(Object.keys(vscodeServers), ['exported']);
      assert.equal(vscodeServers.exported?.url, `${gateway.url}/servers/exported/mcp`);
      assert.equal(vscodeServers.exported?.type, 'http');

      const serverJson = await api('GET', '/export?format=server.json&servers=exported');
      assert.equal(serverJson.status, 200, JSON.stringify(serverJson.body));
      assert.doesNotMatch(JSON.stringify(serverJson.body), /hush/);

      const unknown = await api('GET', '/export?servers=nobody');
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.error?.code, 'server_not_found');
    } finally {
      await api('DELETE', '/servers/exported');
    }
  });

  test('the change log records every change, newest first, with the actor', async () => {
    await api('POST', '/servers', { name: 'logged', url: 'http://127.0.0.1:9/mcp', status: 'pending', headers: { Authorization: 'Bearer logged-secret' } });
    await api('POST', '/servers/logged/disable');
    await api('DELETE', '/servers/logged');
    const reply = await api('GET', '/events?limit=3');
    assert.equal(reply.status, 200);
    const events = reply.body.items as { id: number; action: string; target: string; actor: string }[];
    assert.deepEqual(
      events.map((event) => [event.action, event.target]),
      [
        ['server.delete', 'logged'],
        ['server.disable', 'logged'],
        ['server.create', 'logged'],
      ],
    );
    assert.ok(events.every((event) => event.actor === 'local'));
    assert.doesNotMatch(JSON.stringify(reply.body), /logged-secret/);
    assert.equal(typeof reply.body.next, 'number');
    const older = await api('GET', `/events?limit=1&before=${String(reply.body.next)}`);
    assert.equal(older.status, 200);
    const olderEvents = older.body.items as { id: number }[];
    assert.equal(olderEvents.length, 1);
    assert.ok(olderEvents[0]!.id < events.at(-1)!.id);
  });

  test('GET /health reports each server\'s running state and health checks', async () => {
    const reply = await eventually(
      () => api('GET', '/health'),
      (value) => (value.body.items as { name: string; health: unknown }[]).some((item) => item.name === 'fromfile' && item.health !== null),
      'a health check of fromfile',
    );
    const item = (reply.body.items as { name: string; status: string; runtime: { state: string } | null; health: { checks: number; uptime24h: number | null } }[]).find(
      (entry) => entry.name === 'fromfile',
    );
    assert.ok(item);
    assert.equal(item.status, 'approved');
    assert.ok(item.health.checks >= 1);
    assert.ok(item.runtime !== null);
    // /readyz carries the same health: the last ping's latency and the uptime over 24 h.
    const ready = await eventually(
      async () => (await (await fetch(`${gateway.url}/readyz`)).json()) as { servers: Record<string, { latencyMs?: number; uptime24h?: number }> },
      (value) => value.servers.fromfile?.uptime24h !== undefined,
      'health on /readyz',
    );
    assert.equal(ready.servers.fromfile?.uptime24h, 1);
    assert.equal(typeof ready.servers.fromfile?.latencyMs, 'number');
  });

  test('unknown routes are 404 not_found, wrong methods 405', async () => {
    const unknown = await api('GET', '/nope');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error?.code, 'not_found');
    const wrong = await api('PATCH', '/servers');
    assert.equal(wrong.status, 405);
    assert.equal(wrong.body.error?.code, 'method_not_allowed');
  });
});

describe('the admin API with stdio registration enabled', () => {
  let gateway: GatewayProcess;
  let api: ReturnType<typeof admin>;

  before(async () => {
    gateway = await startGateway({ registry: { stdioRegistration: { enabled: true } }, servers: {} });
    api = admin(gateway);
  });

  after(async () => {
    await gateway?.close();
  });

  test('refuses a shell (sh -c) with 403 command_not_allowed', async () => {
    for (const body of [
      { name: 'shell', command: 'sh', args: ['-c', 'echo pwned'] },
      { name: 'inline', command: 'node', args: ['-e', 'console.log(1)'] },
      { name: 'pathy', command: '/bin/sh', args: [] },
    ]) {
      const reply = await api('POST', '/servers', body);
      assert.equal(reply.status, 403, JSON.stringify(reply.body));
      assert.equal(reply.body.error?.code, 'command_not_allowed');
    }
    assert.deepEqual(names(await api('GET', '/servers')), []);
  });

  test('imports every sample client config and server.json document (as pending: nothing is started)', async () => {
    const outcome = await importEverySample(api);
    assert.deepEqual(outcome.failed, []);
    assert.ok(outcome.created >= outcome.samples, `${outcome.created} servers from ${outcome.samples} samples`);
  });

  test('accepts node with a script file, and serves it', async () => {
    const script = join(repoRoot, everythingStdio.args[0]!);
    const reply = await api('POST', '/servers', { name: 'everything', command: 'node', args: [script, 'stdio'], isolation: 'shared' });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    assert.equal(reply.body.transport, 'stdio');
    await eventually(
      () => api('GET', '/servers/everything'),
      (value) => (value.body.learnt as { tools?: unknown[] } | null)?.tools !== undefined,
      'the stdio server to be listed',
    );
    const events = await api('GET', '/events?limit=1');
    assert.equal((events.body.items as { action: string }[])[0]?.action, 'server.create');
  });
});

/**
 * Imports each sample as pending, checks what was registered, and removes it again (samples share
 * names, e.g. "filesystem"). Returns the counts and every failure with its sample.
 */
async function importEverySample(api: ReturnType<typeof admin>): Promise<{ samples: number; created: number; failed: { file: string; name: string; code: string }[] }> {
  const samples = await importSamples();
  let created = 0;
  const failed: { file: string; name: string; code: string }[] = [];
  for (const sample of samples) {
    const reply = await api('POST', '/import', { format: sample.format, document: sample.document, status: 'pending' });
    assert.equal(reply.status, 200, `${sample.file}: ${JSON.stringify(reply.body)}`);
    const servers = reply.body.created as { name: string; status: string; source: string }[];
    const failures = reply.body.failed as { name: string; error: { code: string } }[];
    assert.ok(servers.length + failures.length > 0, `${sample.file} yields servers`);
    for (const server of servers) {
      assert.equal(server.status, 'pending');
      assert.equal(server.source, 'api');
      assert.equal((await api('DELETE', `/servers/${server.name}`)).status, 204);
    }
    created += servers.length;
    failed.push(...failures.map((failure) => ({ file: sample.file, name: failure.name, code: failure.error.code })));
  }
  return { samples: samples.length, created, failed };
}

/** The sample client configs in test/fixtures/imports/, or minimal ones of each kind when that folder is absent. */
async function importSamples(): Promise<{ file: string; format: 'mcpServers' | 'server.json'; document: unknown }[]> {
  const folder = new URL('../fixtures/imports/', import.meta.url);
  let files: string[] = [];
  try {
    files = (await readdir(folder, { recursive: true })).filter((file) => file.endsWith('.json')).sort();
  } catch {
    // no samples: the minimal ones below
  }
  if (files.length === 0) {
    return [
      { file: 'claude.json', format: 'mcpServers', document: { mcpServers: { 'claude-web': { url: 'http://127.0.0.1:9/mcp' }, 'claude-local': { command: 'npx', args: ['-y', 'x'] } } } },
      { file: 'vscode.json', format: 'mcpServers', document: { servers: { 'vscode-web': { type: 'http', url: 'http://127.0.0.1:9/mcp' } } } },
      {
        file: 'server.json',
        format: 'server.json',
        document: { name: 'io.example/weather', description: 'Weather', version: '1.0.0', remotes: [{ type: 'streamable-http', url: 'https://weather.example/mcp' }] },
      },
    ];
  }
  return Promise.all(
    files.map(async (file) => {
      const document: unknown = JSON.parse(await readFile(new URL(file, folder), 'utf8'));
      const format = typeof document === 'object' && document !== null && ('mcpServers' in document || 'servers' in document) ? 'mcpServers' : 'server.json';
      return { file, format, document } as const;
    }),
  );
}

describe('the admin API on a listener of its own', () => {
  let gateway: GatewayProcess;

  before(async () => {
    gateway = await startGateway({ admin: { listen: { host: '127.0.0.1', port: 0 } }, servers: { fromfile: everythingStdio } });
  });

  after(async () => {
    await gateway?.close();
  });

  test('answers on its own port and not on the gateway\'s', async () => {
    const listening = gateway.logs.find((line) => line.msg === 'gatehouse listening') as { admin?: string } | undefined;
    const adminUrl = listening?.admin;
    assert.ok(adminUrl !== undefined && adminUrl !== gateway.url, `admin URL ${String(adminUrl)}`);
    const own = await fetch(`${adminUrl}/admin/api/v1/servers`);
    assert.equal(own.status, 200);
    assert.deepEqual(((await own.json()) as { items: { name: string }[] }).items.map((item) => item.name), ['fromfile']);
    assert.equal((await fetch(`${gateway.url}/admin/api/v1/servers`)).status, 404);
    // The MCP endpoints stay on the gateway's port only.
    assert.equal((await fetch(`${adminUrl}/mcp`)).status, 404);
  });
});
