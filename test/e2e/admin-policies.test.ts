// Roles and policies against the real gateway process: listed, added, replaced and removed through
// the admin API and through `gatehouse policies …`. The config file's policies are listed read-only;
// bodies are checked as the config file is, CEL conditions included. (Whether a policy added here
// changes what callers may use is the gateway's wiring, tested with authorization.)
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { policyItemSchema, policyListSchema } from '../../src/admin/index.js';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { runCli } from '../helpers/cli.js';
import { admin } from '../helpers/admin-api.js';



const FILE_POLICIES = [
  { description: 'admins use everything', who: { roles: ['admin'] } },
  { effect: 'deny', servers: ['fromfile'], tools: ['get-env'] },
];

describe('policies through the admin API and the CLI', () => {
  let gateway: GatewayProcess;
  let api: ReturnType<typeof admin>;
  let url: string[];
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-policies-'));
    gateway = await startGateway({ servers: { fromfile: everythingStdio }, auth: { policies: FILE_POLICIES } });
    api = admin(gateway);
    url = ['--url', gateway.url];
  });

  after(async () => {
    await gateway?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  /** A policy file for `gatehouse policies add|replace --file`. */
  async function policyFile(name: string, content: string): Promise<string> {
    const file = join(dir, name);
    await writeFile(file, content);
    return file;
  }

  test('GET /policies lists the config file\'s policies as file-0, file-1, read-only, with their defaults filled in', async () => {
    const listed = await api('GET', '/policies');
    assert.equal(listed.status, 200, listed.text);
    const fromFile = policyListSchema.parse(listed.body).items.filter((item) => item.source === 'file');
    assert.deepEqual(
      fromFile.map((item) => [item.id, item.readOnly, item.position]),
      [
        ['file-0', true, 0],
        ['file-1', true, 1],
      ],
      'file policies are seeded from auth.policies (app.ts passes them to Registry.seed)',
    );
    assert.deepEqual(fromFile[0]?.spec, { description: 'admins use everything', effect: 'allow', who: { users: [], groups: [], teams: [], roles: ['admin'], keys: [] }, servers: ['*'] });
    assert.deepEqual(fromFile[1]?.spec, { effect: 'deny', servers: ['fromfile'], tools: ['get-env'] });

    const one = await api('GET', '/policies/file-1');
    assert.equal(one.status, 200, one.text);
    assert.deepEqual(policyItemSchema.parse(one.body), fromFile[1]);

    for (const [method, body] of [['PUT', { who: { roles: ['anyone'] } }], ['DELETE', undefined]] as const) {
      const refused = await api(method, '/policies/file-0', body);
      assert.equal(refused.status, 409, `${method}: ${refused.text}`);
      assert.equal(refused.body.error?.code, 'read_only_record');
      assert.match(refused.body.error?.message ?? '', /auth\.policies\[0\]/);
    }
  });

  test('POST answers 201 with the new policy; GET shows it; PUT replaces it in place; DELETE is 204, then 404', async () => {
    const created = await api('POST', '/policies', { who: { roles: ['reader'] }, servers: ['fromfile'], tools: ['echo', 'get-sum'], when: 'args.a < 100' });
    assert.equal(created.status, 201, created.text);
    const policy = policyItemSchema.parse(created.body);
    assert.match(policy.id, /^pol_[A-Za-z0-9_-]{16}$/);
    assert.equal(policy.source, 'api');
    assert.equal(policy.readOnly, false);
    assert.deepEqual(policy.spec, {
      effect: 'allow',
      who: { users: [], groups: [], teams: [], roles: ['reader'], keys: [] },
      servers: ['fromfile'],
      tools: ['echo', 'get-sum'],
      when: 'args.a < 100',
    });

    const shown = await api('GET', `/policies/${policy.id}`);
    assert.equal(shown.status, 200);
    assert.deepEqual(policyItemSchema.parse(shown.body), policy);
    const ids = policyListSchema.parse((await api('GET', '/policies')).body).items.map((item) => item.id);
    assert.deepEqual(ids.slice(0, 2), ['file-0', 'file-1'], 'the file\'s first');
    assert.ok(ids.indexOf(policy.id) >= 2);

    const replaced = await api('PUT', `/policies/${policy.id}`, { effect: 'deny', who: { users: ['mallory'] } });
    assert.equal(replaced.status, 200, replaced.text);
    const after = policyItemSchema.parse(replaced.body);
    assert.equal(after.id, policy.id);
    assert.equal(after.position, policy.position);
    assert.equal(after.createdAt, policy.createdAt);
    assert.equal(after.spec.effect, 'deny');
    assert.equal(after.spec.when, undefined, 'a replacement is the whole policy, not a patch');
    assert.deepEqual(policyItemSchema.parse((await api('GET', `/policies/${policy.id}`)).body), after);

    const deleted = await api('DELETE', `/policies/${policy.id}`);
    assert.equal(deleted.status, 204);
    assert.equal(deleted.text, '');
    for (const [method, body] of [['GET', undefined], ['PUT', {}], ['DELETE', undefined]] as const) {
      const missing = await api(method, `/policies/${policy.id}`, body);
      assert.equal(missing.status, 404, `${method}: ${missing.text}`);
      assert.equal(missing.body.error?.code, 'policy_not_found');
    }
  });

  test('a body the config file would refuse is 400 invalid_body naming the field, a `when` that is not CEL included', async () => {
    const before = policyListSchema.parse((await api('GET', '/policies')).body).items.length;
    const refusals: [unknown, string][] = [
      [{ effect: 'maybe' }, 'effect'],
      [{ tools: 'echo' }, 'tools'],
      [{ who: { role: ['admin'] } }, 'who.role'],
      [{ servers: [''] }, 'servers.0'],
      [{ when: 'args.a <' }, 'when'],
      [{ tools: ['echo'], when: 'args.path.startsWith(' }, 'when'],
    ];
    for (const [body, path] of refusals) {
      const reply = await api('POST', '/policies', body);
      assert.equal(reply.status, 400, `${JSON.stringify(body)}: ${reply.text}`);
      assert.equal(reply.body.error?.code, 'invalid_body');
      assert.ok(reply.body.error?.issues?.some((issue) => issue.path === path), `${JSON.stringify(body)} names ${path}: ${reply.text}`);
    }
    const badCel = await api('POST', '/policies', { when: 'args.a <' });
    assert.match(badCel.body.error?.message ?? '', /when: not a valid CEL expression/);

    const created = policyItemSchema.parse((await api('POST', '/policies', { who: { roles: ['ops'] } })).body);
    const badReplace = await api('PUT', `/policies/${created.id}`, { when: '1 +' });
    assert.equal(badReplace.status, 400, badReplace.text);
    assert.equal(badReplace.body.error?.issues?.[0]?.path, 'when');
    assert.deepEqual(policyItemSchema.parse((await api('GET', `/policies/${created.id}`)).body), created, 'a refused replacement changes nothing');

    const notJson = await fetch(`${gateway.url}/admin/api/v1/policies`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    assert.equal(notJson.status, 415);

    assert.equal(policyListSchema.parse((await api('GET', '/policies')).body).items.length, before + 1, 'only the valid one was added');
    assert.equal((await api('DELETE', `/policies/${created.id}`)).status, 204);
  });

  test('gatehouse policies add, list, show, replace and remove', async () => {
    const file = await policyFile('readers.yaml', stringify({ description: 'readers may read', who: { roles: ['reader'] }, servers: ['fromfile'], tools: ['get-*'], when: "args.path.startsWith('/srv/')" }));
    const added = await runCli(['policies', 'add', '--file', file, ...url]);
    assert.equal(added.code, 0, added.stderr);
    const id = /^added (pol_[A-Za-z0-9_-]{16}) \(allow roles:reader\)\n$/.exec(added.stdout)?.[1] ?? assert.fail(added.stdout);

    const table = await runCli(['policies', 'list', ...url]);
    assert.equal(table.code, 0, table.stderr);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    assert.match(header!, /^ID\s+SOURCE\s+EFFECT\s+WHO\s+SERVERS\s+ITEMS\s+WHEN$/);
    assert.match(rows[0]!, /^file-0\s+file\s+allow\s+roles:admin\s+\*\s+all\s+-$/);
    assert.match(rows[1]!, /^file-1\s+file\s+deny\s+anyone\s+fromfile\s+tools:get-env\s+-$/);
    const row = rows.find((line) => line.startsWith(id)) ?? assert.fail(table.stdout);
    assert.match(row, /^pol_\S+\s+api\s+allow\s+roles:reader\s+fromfile\s+tools:get-\*\s+args\.path\.startsWith\('\/srv\/'\)$/);
    assert.equal(header!.indexOf('EFFECT'), row.indexOf('allow'), 'columns line up');

    const json = await runCli(['policies', 'list', '--json', ...url]);
    assert.equal(json.code, 0, json.stderr);
    const items = policyListSchema.parse(JSON.parse(json.stdout)).items;
    assert.equal(items.find((item) => item.id === id)?.spec.description, 'readers may read');

    const shown = await runCli(['policies', 'show', id, ...url]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^ID:\\s+${id}$`, 'm'));
    assert.match(shown.stdout, /^Source:\s+admin API$/m);
    assert.match(shown.stdout, /^Description:\s+readers may read$/m);
    assert.match(shown.stdout, /^Who:\s+roles:reader$/m);
    assert.match(shown.stdout, /^Items:\s+tools:get-\*$/m);
    assert.match(shown.stdout, /^When:\s+args\.path\.startsWith\('\/srv\/'\)$/m);
    const fileShown = await runCli(['policies', 'show', 'file-1', ...url]);
    assert.match(fileShown.stdout, /^Source:\s+config file, auth\.policies\[1\] \(read-only here\)$/m);
    const shownJson = await runCli(['policies', 'show', id, '--json', ...url]);
    assert.equal(policyItemSchema.parse(JSON.parse(shownJson.stdout)).id, id);

    const replacement = await policyFile('replacement.json', JSON.stringify({ effect: 'deny', who: { users: ['mallory'] } }));
    const replaced = await runCli(['policies', 'replace', id, '--file', replacement, ...url]);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.equal(replaced.stdout, `replaced ${id} (deny users:mallory)\n`);

    const removed = await runCli(['policies', 'remove', id, ...url]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(removed.stdout, `removed ${id}\n`);
    const again = await runCli(['policies', 'show', id, ...url]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^gatehouse: No policy with that id.*\(policy_not_found\)\n$/);
  });

  test('gatehouse policies refuses bad files, bad CEL and file policies with a message and exit status 1', async () => {
    const badCel = await policyFile('bad-cel.yaml', stringify({ tools: ['echo'], when: 'args.a <' }));
    const list = await policyFile('list.yaml', stringify([{ who: { roles: ['a'] } }, { who: { roles: ['b'] } }]));
    const notYaml = await policyFile('broken.yaml', 'who: [roles\n');
    const cases: [string[], RegExp][] = [
      [['policies', 'add', '--file', badCel], /when: not a valid CEL expression.*\(invalid_body\)/s],
      [['policies', 'add', '--file', list], /list\.yaml holds a list; put one policy in each file/],
      [['policies', 'add', '--file', notYaml], /broken\.yaml is not valid JSON or YAML/],
      [['policies', 'add', '--file', join(dir, 'missing.yaml')], /cannot read .*missing\.yaml/],
      [['policies', 'remove', 'file-0'], /auth\.policies\[0\].*\(read_only_record\)/s],
    ];
    for (const [args, message] of cases) {
      const run = await runCli([...args, ...url]);
      assert.equal(run.code, 1, `${args.join(' ')}: ${run.stdout}`);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /^gatehouse: /);
      assert.match(run.stderr, message);
    }
    assert.ok(!policyListSchema.parse((await api('GET', '/policies')).body).items.some((item) => item.spec.when === 'args.a <'));
  });

  test('the event log records each API change with its actor, and the spec before and after', async () => {
    const created = policyItemSchema.parse((await api('POST', '/policies', { who: { groups: ['eng'] } })).body);
    await api('PUT', `/policies/${created.id}`, { who: { groups: ['sre'] } });
    await api('DELETE', `/policies/${created.id}`);
    const events = await api('GET', '/events?limit=500');
    assert.equal(events.status, 200);
    const mine = (events.body.items as { actor: string; action: string; target: string; detail: Record<string, unknown> }[]).filter((event) => event.target === created.id);
    assert.deepEqual(
      mine.map((event) => [event.actor, event.action]),
      [
        ['local', 'policy.delete'],
        ['local', 'policy.replace'],
        ['local', 'policy.create'],
      ],
    );
    assert.deepEqual((mine[1]?.detail.previous as { who: { groups: string[] } }).who.groups, ['eng']);
    assert.deepEqual((mine[1]?.detail.spec as { who: { groups: string[] } }).who.groups, ['sre']);
    const all = (events.body.items as { action: string; target: string }[]).filter((event) => event.action.startsWith('policy.'));
    assert.ok(!all.some((event) => event.target.startsWith('file-')), 'seeding from the file is not an API change');
  });
});
