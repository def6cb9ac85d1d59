// The `gatehouse servers|virtual|status` commands: the real CLI (from source) against a real gateway
// process, through the admin API. Tables for people, --json for scripts, one clear line on failure.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { fixturePath, startHttpFixture, type HttpFixture } from '../fixtures/spawn-fixture.js';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { runCli } from '../helpers/cli.js';



/** A loopback port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the gatehouse admin commands', () => {
  let upstream: HttpFixture;
  let gateway: GatewayProcess;
  let dir: string;
  let url: string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-admin-cli-'));
    upstream = await startHttpFixture(fixturePath('everything-http.ts'));
    gateway = await startGateway({ servers: { fromfile: { ...everythingStdio, tags: ['local'] } } });
    url = ['--url', gateway.url];
  });

  after(async () => {
    await gateway?.close();
    await upstream?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('servers list prints an aligned table, or JSON with --json', async () => {
    const table = await runCli(['servers', 'list', ...url]);
    assert.equal(table.code, 0, table.stderr);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    assert.match(header!, /^NAME\s+STATUS\s+STATE\s+TRANSPORT\s+TOOLS\s+UPTIME\s+SOURCE\s+TAGS$/);
    const row = rows.find((line) => line.startsWith('fromfile'));
    assert.ok(row, table.stdout);
    assert.match(row, /^fromfile\s+approved\s+\S+\s+stdio\s+\S+\s+\S+\s+file\s+local$/);
    assert.equal(header!.indexOf('STATUS'), row.indexOf('approved'), 'columns line up');

    const json = await runCli(['servers', 'list', ...url, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { items: { name: string; source: string }[] };
    assert.deepEqual(
      parsed.items.map((item) => [item.name, item.source]),
      [['fromfile', 'file']],
    );
  });

  test('servers add, show, disable, enable and remove an HTTP server', async () => {
    const added = await runCli([
      'servers', 'add', 'web', '--gateway', gateway.url, '--url', upstream.url, '--header', 'Authorization=Bearer cli-secret', '--tag', 'demo', '--title', 'Web',
    ]);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.stdout, `added web (approved); clients reach it at ${gateway.url}/servers/web/mcp\n`);

    const shown = await runCli(['servers', 'show', 'web', ...url]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^Name:\s+web$/m);
    assert.match(shown.stdout, /^Status:\s+approved$/m);
    assert.match(shown.stdout, /^Headers:\s+Authorization=\*\*\*$/m);
    assert.match(shown.stdout, new RegExp(`^URL:\\s+${upstream.url.replaceAll('.', '\\.')}$`, 'm'));
    assert.doesNotMatch(shown.stdout, /cli-secret/);

    const shownJson = await runCli(['servers', 'show', 'web', ...url, '--json']);
    assert.equal(shownJson.code, 0, shownJson.stderr);
    const detail = JSON.parse(shownJson.stdout) as { name: string; tags: string[]; spec: { headers: Record<string, string> } };
    assert.equal(detail.name, 'web');
    assert.deepEqual(detail.tags, ['demo']);
    assert.equal(detail.spec.headers.Authorization, '***');

    const disabled = await runCli(['servers', 'disable', 'web', ...url]);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.equal(disabled.stdout, 'web: disabled\n');
    const filtered = await runCli(['servers', 'list', ...url, '--status', 'disabled', '--json']);
    assert.deepEqual((JSON.parse(filtered.stdout) as { items: { name: string }[] }).items.map((item) => item.name), ['web']);

    const enabled = await runCli(['servers', 'enable', 'web', ...url, '--json']);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.equal((JSON.parse(enabled.stdout) as { status: string }).status, 'approved');

    const removed = await runCli(['servers', 'remove', 'web', ...url]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, 'removed web\n');
  });

  test('servers add needs --url or --command, and reports the API\'s refusal', async () => {
    const neither = await runCli(['servers', 'add', 'nothing', '--gateway', gateway.url]);
    assert.equal(neither.code, 1);
    assert.match(neither.stderr, /^gatehouse: give either --url .* or --command/);

    const stdio = await runCli(['servers', 'add', 'local', '--gateway', gateway.url, '--command', 'npx', '--arg', '-y', '--arg', 'some-server']);
    assert.equal(stdio.code, 1);
    assert.match(stdio.stderr, /^gatehouse: .*stdio.*\(command_not_allowed\)/s);

    const clash = await runCli(['servers', 'add', 'fromfile', '--gateway', gateway.url, '--url', upstream.url]);
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /\(name_taken\)/);
  });

  test('servers show of an unknown name fails with the API\'s message', async () => {
    const run = await runCli(['servers', 'show', 'nobody', ...url]);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^gatehouse: .*No server "nobody"\. \(server_not_found\)\n$/);
  });

  test('servers import detects the format and registers the entries', async () => {
    const file = join(dir, 'claude.json');
    await writeFile(file, JSON.stringify({ mcpServers: { imported: { url: 'http://127.0.0.1:9/mcp' } } }));
    const run = await runCli(['servers', 'import', file, ...url, '--status', 'pending']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^added imported \(pending\)$/m);
    assert.match(run.stdout, /1 added, 0 failed/);
    assert.equal((await runCli(['servers', 'remove', 'imported', ...url])).code, 0);

    const unknown = join(dir, 'unknown.json');
    await writeFile(unknown, JSON.stringify({ something: 'else' }));
    const undetected = await runCli(['servers', 'import', unknown, ...url]);
    assert.equal(undetected.code, 1);
    assert.match(undetected.stderr, /--format/);
  });

  test('servers export prints or writes a client config', async () => {
    const printed = await runCli(['servers', 'export', ...url, '--format', 'vscode', '--target', 'gateway']);
    assert.equal(printed.code, 0, printed.stderr);
    const document = JSON.parse(printed.stdout) as { servers: Record<string, { url?: string }> };
    assert.equal(document.servers.fromfile?.url, `${gateway.url}/servers/fromfile/mcp`);

    const out = join(dir, 'claude-export.json');
    const written = await runCli(['servers', 'export', ...url, '--format', 'claude', '--out', out]);
    assert.equal(written.code, 0, written.stderr);
    assert.equal(written.stdout, '');
    const saved = JSON.parse(await readFile(out, 'utf8')) as { mcpServers: Record<string, unknown> };
    assert.ok(saved.mcpServers.fromfile);
  });

  test('virtual add, list, show and remove', async () => {
    const spec = join(dir, 'curated.yaml');
    await writeFile(spec, stringify({ title: 'Just echo', tools: [{ server: 'fromfile', name: 'echo' }] }));
    const added = await runCli(['virtual', 'add', 'curated', '--file', spec, ...url]);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(added.stdout, `added curated; clients reach it at ${gateway.url}/servers/curated/mcp\n`);

    const listed = await runCli(['virtual', 'list', ...url]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^NAME\s+ENABLED\s+SOURCE\s+TOOLS\s+ENDPOINT$/m);
    assert.match(listed.stdout, /^curated\s+yes\s+api\s+fromfile:echo\s+http:\/\/\S+\/servers\/curated\/mcp$/m);

    const shown = await runCli(['virtual', 'show', 'curated', ...url, '--json']);
    assert.equal((JSON.parse(shown.stdout) as { title: string }).title, 'Just echo');

    const removed = await runCli(['virtual', 'remove', 'curated', ...url]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, 'removed curated\n');
  });

  test('status prints the gateway\'s facts, or JSON; GATEHOUSE_URL sets the address', async () => {
    const run = await runCli(['status'], { GATEHOUSE_URL: gateway.url });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^Gateway:\\s+${gateway.url.replaceAll('.', '\\.')}$`, 'm'));
    assert.match(run.stdout, /^Servers:\s+1 \(1 approved, 0 pending, 0 disabled\)$/m);

    const json = await runCli(['status', ...url, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const status = JSON.parse(json.stdout) as { version: string; counts: { servers: number } };
    assert.equal(typeof status.version, 'string');
    assert.equal(status.counts.servers, 1);
  });

  test('a gateway that is not running is named, with a hint to start one', async () => {
    const address = `http://127.0.0.1:${await closedPort()}`;
    const run = await runCli(['servers', 'list', '--url', address]);
    assert.equal(run.code, 1);
    assert.ok(run.stderr.startsWith(`gatehouse: cannot reach a gateway at ${address} (connection refused)`), run.stderr);
    assert.match(run.stderr, /gatehouse serve/);
  });
});
