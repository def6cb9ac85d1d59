// API keys against the real gateway process: created, listed, rotated and revoked through the admin
// API and through `gatehouse keys …`. A token is in the one answer that made it and nowhere else:
// not in lists, not in the event log, not in the gateway's own log.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { issuedKeySchema, keyItemSchema, keyListSchema, rotatedKeySchema } from '../../src/admin/index.js';
import { hashSecret, parseApiKey } from '../../src/registry/index.js';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';
import { runCli } from '../helpers/cli.js';
import { admin } from '../helpers/admin-api.js';





/** Every form in which a token could leak: itself, its secret, and the stored hash of the secret. */
function leakForms(token: string): string[] {
  const parsed = parseApiKey(token) ?? assert.fail(`not a key: ${token}`);
  return [token, parsed.secret, hashSecret(parsed.secret)];
}

function assertNoLeak(text: string, tokens: readonly string[], where: string): void {
  for (const token of tokens) for (const form of leakForms(token)) assert.ok(!text.includes(form), `${where} must not contain a token, secret or hash`);
}

const TOKEN_LINE = /^Token:\s+(ghk_[0-9A-Za-z]{10}_[0-9A-Za-z]{49})$/m;
const SHOWN_ONCE = 'Store the token now: it will not be shown again (the gateway keeps only a hash of it).';

describe('API keys through the admin API and the CLI', () => {
  let gateway: GatewayProcess;
  let api: ReturnType<typeof admin>;
  let url: string[];
  /** Every token the tests were given, to prove none shows up anywhere else. */
  const tokens: string[] = [];

  before(async () => {
    gateway = await startGateway({ servers: { fromfile: everythingStdio } });
    api = admin(gateway);
    url = ['--url', gateway.url];
  });

  after(async () => {
    await gateway?.close();
  });

  test('POST /keys answers 201 with the token once; GET /keys lists the key without it', async () => {
    const created = await api('POST', '/keys', { name: 'ci-bot', roles: ['reader'], endpoints: ['fromfile'], expires: '90d' });
    assert.equal(created.status, 201, created.text);
    const key = issuedKeySchema.parse(created.body);
    tokens.push(key.token);
    assert.equal(parseApiKey(key.token)?.id, key.id);
    assert.equal(key.name, 'ci-bot');
    assert.deepEqual(key.roles, ['reader']);
    assert.deepEqual(key.endpoints, ['fromfile']);
    assert.equal(key.state, 'active');
    assert.equal(key.createdBy, 'local');
    const lifetime = Date.parse(key.expiresAt ?? '') - Date.parse(key.createdAt);
    assert.equal(lifetime, 90 * 24 * 3600 * 1000);

    const listed = await api('GET', '/keys');
    assert.equal(listed.status, 200);
    const item = keyListSchema.parse(listed.body).items.find((entry) => entry.id === key.id);
    const { token: _token, ...withoutToken } = key;
    assert.deepEqual(item, withoutToken);
    assert.deepEqual(Object.keys(keyItemSchema.parse(item)).sort(), Object.keys(withoutToken).sort(), 'no field beyond the documented ones');
    assertNoLeak(listed.text, tokens, 'GET /keys');
  });

  test('an ISO date or time is an expiry too; a bad body, an unknown endpoint or a past time is refused', async () => {
    const nextYear = new Date(Date.now() + 400 * 24 * 3600 * 1000).toISOString().slice(0, 10);
    const dated = await api('POST', '/keys', { name: 'dated', roles: ['reader'], expires: nextYear });
    assert.equal(dated.status, 201, dated.text);
    tokens.push(issuedKeySchema.parse(dated.body).token);
    assert.equal(dated.body.expiresAt, `${nextYear}T00:00:00.000Z`, 'a date means its first instant, UTC');

    const refusals: [unknown, number, string][] = [
      [{ name: 'x', roles: [] }, 400, 'invalid_body'],
      [{ name: 'x' }, 400, 'invalid_body'],
      [{ name: 'x', roles: ['reader'], expires: 'tomorrow' }, 400, 'invalid_body'],
      [{ name: 'x', roles: ['reader'], expires: '2001-01-01T00:00:00Z' }, 400, 'invalid_body'],
      [{ name: 'x', roles: ['reader'], expires: '9999-01-01' }, 400, 'invalid_body'],
      [{ name: 'x', roles: ['reader'], token: 'ghk_mine' }, 400, 'invalid_body'],
      [{ name: 'x', roles: ['reader'], endpoints: ['nowhere'] }, 404, 'server_not_found'],
    ];
    for (const [body, status, code] of refusals) {
      const reply = await api('POST', '/keys', body);
      assert.equal(reply.status, status, `${JSON.stringify(body)}: ${reply.text}`);
      assert.equal(reply.body.error?.code, code);
    }
  });

  test('rotate answers 201 with a new token; the old key expires at the end of the overlap; revoke is 204 and idempotent', async () => {
    const created = issuedKeySchema.parse((await api('POST', '/keys', { name: 'deploy', roles: ['writer'], expires: '30d' })).body);
    tokens.push(created.token);

    const rotatedReply = await api('POST', `/keys/${created.id}/rotate`, { overlap: '1h' });
    assert.equal(rotatedReply.status, 201, rotatedReply.text);
    const rotated = rotatedKeySchema.parse(rotatedReply.body);
    tokens.push(rotated.token);
    assert.notEqual(rotated.id, created.id);
    assert.equal(rotated.rotatedFrom, created.id);
    assert.equal(rotated.name, 'deploy');
    assert.deepEqual(rotated.roles, ['writer']);
    assert.equal(rotated.previous.id, created.id);
    assert.equal(Date.parse(rotated.previous.expiresAt ?? '') - Date.parse(rotated.createdAt), 3600 * 1000, 'the old key works for one more hour');
    assert.equal(Date.parse(rotated.expiresAt ?? '') - Date.parse(rotated.createdAt), 30 * 24 * 3600 * 1000, 'the new key lives as long as the old one was made to');

    const again = await api('POST', `/keys/${created.id}/rotate`);
    assert.equal(again.status, 403, again.text);
    assert.equal(again.body.error?.code, 'forbidden');

    const revoked = await api('DELETE', `/keys/${rotated.id}`);
    assert.equal(revoked.status, 204);
    assert.equal(revoked.text, '');
    assert.equal((await api('DELETE', `/keys/${rotated.id}`)).status, 204);
    const listed = keyListSchema.parse((await api('GET', '/keys')).body).items;
    assert.equal(listed.find((key) => key.id === rotated.id)?.state, 'revoked');
    assert.equal(listed.find((key) => key.id === created.id)?.state, 'active', 'still in its overlap');

    for (const [method, path] of [['DELETE', '/keys/NoSuchKey0'], ['POST', '/keys/NoSuchKey0/rotate']] as const) {
      const missing = await api(method, path);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error?.code, 'key_not_found');
    }
  });

  test('gatehouse keys create prints the token once with a warning; list never shows it', async () => {
    const created = await runCli(['keys', 'create', '--name', 'cli-bot', '--role', 'reader', '--role', 'auditor', '--server', 'fromfile', '--expires', '12h', ...url]);
    assert.equal(created.code, 0, created.stderr);
    const token = TOKEN_LINE.exec(created.stdout)?.[1] ?? assert.fail(created.stdout);
    tokens.push(token);
    const id = parseApiKey(token)?.id ?? assert.fail(token);
    assert.match(created.stdout, new RegExp(`^ID:\\s+${id}$`, 'm'));
    assert.match(created.stdout, /^Name:\s+cli-bot$/m);
    assert.match(created.stdout, /^Roles:\s+reader, auditor$/m);
    assert.match(created.stdout, /^Endpoints:\s+fromfile$/m);
    assert.ok(created.stdout.endsWith(`\n\n${SHOWN_ONCE}\n`), created.stdout);
    assert.equal(created.stdout.split(token).length, 2, 'the token is printed exactly once');

    const table = await runCli(['keys', 'list', ...url]);
    assert.equal(table.code, 0, table.stderr);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    assert.match(header!, /^ID\s+NAME\s+STATE\s+ROLES\s+ENDPOINTS\s+EXPIRES\s+LAST USED$/);
    const row = rows.find((line) => line.startsWith(id)) ?? assert.fail(table.stdout);
    assert.match(row, new RegExp(`^${id}\\s+cli-bot\\s+active\\s+reader,auditor\\s+fromfile\\s+\\S+Z\\s+-$`));
    assert.equal(header!.indexOf('STATE'), row.indexOf('active'), 'columns line up');

    const json = await runCli(['keys', 'list', ...url, '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.ok(keyListSchema.parse(JSON.parse(json.stdout)).items.some((key) => key.id === id));
    assertNoLeak(table.stdout + json.stdout, tokens, 'keys list');
  });

  test('gatehouse keys create --json gives scripts the token on stdout and the warning on stderr', async () => {
    const run = await runCli(['keys', 'create', '--name', 'script', '--role', 'reader', '--json', ...url]);
    assert.equal(run.code, 0, run.stderr);
    const key = issuedKeySchema.parse(JSON.parse(run.stdout));
    tokens.push(key.token);
    assert.equal(key.expiresAt, null);
    assert.equal(key.endpoints, null);
    assert.equal(run.stderr, `${SHOWN_ONCE}\n`);
  });

  test('gatehouse keys rotate prints the new token once and when the old key stops; revoke says so', async () => {
    const created = await runCli(['keys', 'create', '--name', 'rotating', '--role', 'reader', ...url]);
    const oldToken = TOKEN_LINE.exec(created.stdout)?.[1] ?? assert.fail(created.stdout);
    tokens.push(oldToken);
    const oldId = parseApiKey(oldToken)?.id ?? assert.fail(oldToken);

    const rotated = await runCli(['keys', 'rotate', oldId, '--overlap', '2h', ...url]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const newToken = TOKEN_LINE.exec(rotated.stdout)?.[1] ?? assert.fail(rotated.stdout);
    tokens.push(newToken);
    assert.notEqual(newToken, oldToken);
    assert.match(rotated.stdout, new RegExp(`^Replaces:\\s+${oldId}, which keeps working until \\S+Z$`, 'm'));
    assert.match(rotated.stdout, /^Expires:\s+never$/m);
    assert.ok(rotated.stdout.endsWith(`\n\n${SHOWN_ONCE}\n`));
    assert.ok(!rotated.stdout.includes(oldToken));

    const newId = parseApiKey(newToken)?.id ?? assert.fail(newToken);
    const revoked = await runCli(['keys', 'revoke', newId, ...url]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, `revoked ${newId}\n`);
    const listed = keyListSchema.parse(JSON.parse((await runCli(['keys', 'list', '--json', ...url])).stdout)).items;
    assert.equal(listed.find((key) => key.id === newId)?.state, 'revoked');
    assert.equal(listed.find((key) => key.id === newId)?.rotatedFrom, oldId);

    const missing = await runCli(['keys', 'revoke', 'NoSuchKey0', ...url]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stdout, '');
    assert.match(missing.stderr, /^gatehouse: No API key with that id\. \(key_not_found\)\n$/);

    const badOverlap = await runCli(['keys', 'rotate', oldId, '--overlap', 'soon', ...url]);
    assert.equal(badOverlap.code, 1);
    assert.match(badOverlap.stderr, /overlap.*\(invalid_body\)/s);
  });

  test('the event log records every create, rotate and revoke with no token, secret or hash; nor does the gateway log', async () => {
    const events = await api('GET', '/events?limit=500');
    assert.equal(events.status, 200);
    const actions = (events.body.items as { action: string }[]).map((event) => event.action).filter((action) => action.startsWith('key.'));
    assert.ok(actions.filter((action) => action === 'key.create').length >= 6, actions.join(' '));
    assert.equal(actions.filter((action) => action === 'key.rotate').length, 2);
    assert.equal(actions.filter((action) => action === 'key.revoke').length, 2, 'revoking a revoked key records nothing');
    assert.ok(tokens.length >= 8);
    assertNoLeak(events.text, tokens, 'the event log');
    assertNoLeak(JSON.stringify(gateway.logs), tokens, 'the gateway log');
  });
});
