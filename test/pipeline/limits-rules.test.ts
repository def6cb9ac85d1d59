// Limit rules as configured: the YAML block, which calls a rule counts, which calls share a counter,
// and the calendar windows of quotas.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../src/config/index.js';
import type { Identity } from '../../src/core/index.js';
import type { CallTarget } from '../../src/pipeline/index.js';
import { compileLimitRule, quotaWindow, type LimitRule } from '../../src/pipeline/limits/index.js';

const CONFIG = `
limits:
  store: \${LIMITS_STORE:-memory}
  rules:
    - name: per-user-tools
      match: { servers: ["github"], tools: ["create_*"] }
      key: [user, tool]
      rate: { requests: 10, per: 1m }
      quota: { requests: 1000, per: day }
      concurrency: { max: 4, queue: 16, queueTimeout: 5s }
    - name: everything
      rate: { requests: 100, per: 1500, burst: 20 }
`;

const user = (subject: string, extra: Partial<Identity> = {}): Identity => ({ kind: 'api-key', subject, groups: [], roles: [], scopes: [], ...extra });
const tool = (server: string, name: string): CallTarget => ({ server, kind: 'tools', name });
const HERE = '127.0.0.1';

function rulesOf(text: string): readonly LimitRule[] {
  return parseConfigText(text, 'test.yaml', {}).limits.rules;
}

describe('limits config', () => {
  test('reads durations with units or as milliseconds, and fills in defaults', () => {
    const config = parseConfigText(CONFIG, 'test.yaml', { LIMITS_STORE: 'redis://127.0.0.1:6379' });
    assert.equal(config.limits.store, 'redis://127.0.0.1:6379');
    assert.equal(config.limits.onStoreError, 'allow');
    const [perUser, everything] = config.limits.rules;
    assert.deepEqual(perUser?.rate, { requests: 10, per: 60_000 });
    assert.deepEqual(perUser?.quota, { requests: 1000, per: 'day' });
    assert.deepEqual(perUser?.concurrency, { max: 4, queue: 16, queueTimeout: 5_000 });
    assert.deepEqual(everything?.rate, { requests: 100, per: 1500, burst: 20 });
    assert.deepEqual(everything?.key, []);
    assert.deepEqual(everything?.match.servers, ['*']);
    // The HTTP input limits beside them keep their defaults.
    assert.equal(config.limits.maxBodyBytes, 4 * 1024 * 1024);
  });

  test('no rules is the default: nothing to count, no filter', () => {
    assert.deepEqual(parseConfigText('{}', 'test.yaml', {}).limits.rules, []);
  });

  for (const [what, text, message] of [
    ['a rule without a limit', 'limits: { rules: [{ name: a }] }', /at least one of rate, quota and concurrency/],
    ['two rules with one name', 'limits: { rules: [{ name: a, rate: { requests: 1, per: 1s } }, { name: a, quota: { requests: 1, per: day } }] }', /names must be unique/],
    ['a duration without a unit it knows', 'limits: { rules: [{ name: a, rate: { requests: 1, per: 1w } }] }', /duration like 500ms/],
    ['a key part that does not exist', 'limits: { rules: [{ name: a, key: [planet], rate: { requests: 1, per: 1s } }] }', /limits\.rules\.0\.key\.0/],
    ['a store that is neither memory nor Redis', 'limits: { store: "postgres://x", rules: [] }', /redis:\/\//],
    ['a quota period it does not know', 'limits: { rules: [{ name: a, quota: { requests: 1, per: week } }] }', /limits\.rules\.0\.quota\.per/],
  ] as const) {
    test(`refuses ${what}`, () => {
      assert.throws(() => parseConfigText(text, 'test.yaml', {}), message);
    });
  }
});

describe('limit rules', () => {
  const [perUser] = rulesOf(CONFIG).map(compileLimitRule);

  test('count the calls their servers and globs match, and only those', () => {
    assert.equal(perUser!.matches(user('k1'), tool('github', 'create_issue')), true);
    assert.equal(perUser!.matches(user('k1'), tool('github', 'get_issue')), false);
    assert.equal(perUser!.matches(user('k1'), tool('jira', 'create_issue')), false);
    // A rule that names tools only does not count prompts of the same name.
    assert.equal(perUser!.matches(user('k1'), { server: 'github', kind: 'prompts', name: 'create_issue' }), false);
  });

  test('give each combination of key values its own counter', () => {
    const keys = new Set([
      perUser!.counterKey(user('k1'), tool('github', 'create_issue'), HERE),
      perUser!.counterKey(user('k2'), tool('github', 'create_issue'), HERE),
      perUser!.counterKey(user('k1'), tool('github', 'create_pr'), HERE),
      perUser!.counterKey(user('k1', { kind: 'jwt', issuer: 'https://idp' }), tool('github', 'create_issue'), HERE),
    ]);
    assert.equal(keys.size, 4);
    assert.equal(perUser!.counterKey(user('k1'), tool('github', 'create_issue'), HERE), perUser!.counterKey(user('k1'), tool('github', 'create_issue'), HERE));
  });

  test('cannot be made to share a counter by names that contain the separator', () => {
    const [rule] = rulesOf('limits: { rules: [{ name: a, key: [team, user], rate: { requests: 1, per: 1s } }] }').map(compileLimitRule);
    const one = rule!.counterKey(user('b', { team: 'x|api-key:' }), tool('s', 't'), HERE);
    const two = rule!.counterKey(user('x|b', { team: '' }), tool('s', 't'), HERE);
    assert.notEqual(one, two);
  });

  test('key on the client\'s address when `client` is a key part, and on nothing else of it otherwise', () => {
    const [perClient] = rulesOf('limits: { rules: [{ name: a, key: [client], rate: { requests: 1, per: 1s } }] }').map(compileLimitRule);
    const anonymous = user('', { kind: 'anonymous' });
    assert.notEqual(perClient!.counterKey(anonymous, tool('s', 't'), '127.0.0.1'), perClient!.counterKey(anonymous, tool('s', 't'), '127.0.0.2'));
    assert.equal(perClient!.counterKey(anonymous, tool('s', 't'), 'stdio'), perClient!.counterKey(anonymous, tool('s', 'other'), 'stdio'));
    assert.equal(perUser!.counterKey(user('k1'), tool('github', 'create_issue'), '127.0.0.1'), perUser!.counterKey(user('k1'), tool('github', 'create_issue'), '127.0.0.2'));
  });

  test('match callers by role, group, team or key when `who` is given', () => {
    const [rule] = rulesOf('limits: { rules: [{ name: a, match: { who: { roles: [free] } }, rate: { requests: 1, per: 1s } }] }').map(compileLimitRule);
    assert.equal(rule!.matches(user('k1', { roles: ['free'] }), tool('s', 't')), true);
    assert.equal(rule!.matches(user('k2', { roles: ['paid'] }), tool('s', 't')), false);
  });
});

describe('quota windows (UTC calendar)', () => {
  test('a day runs from midnight to midnight', () => {
    const now = Date.UTC(2031, 5, 15, 13, 45);
    assert.deepEqual(quotaWindow('day', now), { start: Date.UTC(2031, 5, 15), end: Date.UTC(2031, 5, 16) });
  });

  test('a month ends at the first of the next, across a year\'s end and a leap February', () => {
    assert.deepEqual(quotaWindow('month', Date.UTC(2031, 11, 31, 23, 59)), { start: Date.UTC(2031, 11, 1), end: Date.UTC(2032, 0, 1) });
    assert.deepEqual(quotaWindow('month', Date.UTC(2032, 1, 29, 12)), { start: Date.UTC(2032, 1, 1), end: Date.UTC(2032, 2, 1) });
  });

  test('an hour is a clock hour', () => {
    assert.deepEqual(quotaWindow('hour', Date.UTC(2031, 0, 1, 7, 59, 59, 999)), { start: Date.UTC(2031, 0, 1, 7), end: Date.UTC(2031, 0, 1, 8) });
  });
});
