import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ANONYMOUS, type Identity } from '../../src/core/index.js';
import { Policies, type PolicyRule } from '../../src/pipeline/index.js';

const who = (partial: Partial<NonNullable<PolicyRule['who']>>): PolicyRule['who'] => ({ users: [], groups: [], teams: [], roles: [], keys: [], ...partial });
const rule = (partial: Partial<PolicyRule>): PolicyRule => ({ effect: 'allow', servers: ['*'], ...partial });
const person = (partial: Partial<Identity>): Identity => ({ kind: 'jwt', subject: 'alice', groups: [], roles: [], scopes: [], ...partial });

test('with no policies everything is allowed and nothing is computed', () => {
  const policies = new Policies([]);
  assert.equal(policies.empty, true);
  assert.equal(policies.permitsFor(ANONYMOUS, '*'), undefined);
});

test('once any policy exists, what no policy allows is denied', () => {
  const policies = new Policies([rule({ who: who({ roles: ['reader'] }), servers: ['github'], tools: ['get_*'] })]);
  const reader = policies.permitsFor(person({ roles: ['reader'] }), '*')!.permits;
  assert.equal(reader('github', 'tools', 'get_issue'), true);
  assert.equal(reader('github', 'tools', 'create_issue'), false);
  assert.equal(reader('jira', 'tools', 'get_ticket'), false);
  // A policy that names tools covers only tools.
  assert.equal(reader('github', 'prompts', 'get_summary'), false);
  const stranger = policies.permitsFor(person({ roles: ['guest'] }), '*')!.permits;
  assert.equal(stranger('github', 'tools', 'get_issue'), false);
});

test('deny wins over allow, and a deny naming tools leaves prompts and resources alone', () => {
  const policies = new Policies([rule({}), rule({ effect: 'deny', who: who({ groups: ['contractors'] }), tools: ['delete_*'] })]);
  const contractor = policies.permitsFor(person({ groups: ['contractors'] }), '*')!.permits;
  assert.equal(contractor('github', 'tools', 'delete_repo'), false);
  assert.equal(contractor('github', 'tools', 'get_issue'), true);
  assert.equal(contractor('github', 'resources', 'repo://x'), true);
  assert.equal(policies.permitsFor(person({}), '*')!.permits('github', 'tools', 'delete_repo'), true);
});

test('policies match users, teams, keys and the virtual server a call came through', () => {
  const policies = new Policies([
    rule({ who: who({ users: ['alice'] }), servers: ['a'] }),
    rule({ who: who({ teams: ['payments'] }), servers: ['b'] }),
    rule({ who: who({ keys: ['key1'] }), servers: ['c'] }),
    rule({ who: who({ roles: ['team-x'] }), servers: ['team-x-tools'] }),
  ]);
  assert.equal(policies.permitsFor(person({}), '*')!.permits('a', 'tools', 't'), true);
  assert.equal(policies.permitsFor(person({ subject: 'bob', team: 'payments' }), '*')!.permits('b', 'tools', 't'), true);
  assert.equal(policies.permitsFor({ kind: 'api-key', subject: 'key1', groups: [], roles: [], scopes: [] }, '*')!.permits('c', 'tools', 't'), true);
  // A user id never matches an API key's id, nor an anonymous caller.
  assert.equal(policies.permitsFor({ kind: 'api-key', subject: 'alice', groups: [], roles: [], scopes: [] }, '*')!.permits('a', 'tools', 't'), false);
  const teamX = person({ subject: 'carol', roles: ['team-x'] });
  assert.equal(policies.permitsFor(teamX, 'team-x-tools')!.permits('github', 'tools', 'get_issue'), true);
  assert.equal(policies.permitsFor(teamX, '*')!.permits('github', 'tools', 'get_issue'), false);
});

test('callers to whom the same policies apply share one key, so their lists are built once', () => {
  const policies = new Policies([rule({ who: who({ roles: ['reader'] }) }), rule({ who: who({ roles: ['writer'] }) })]);
  const a = policies.permitsFor(person({ subject: 'a', roles: ['reader'] }), '*')!;
  const b = policies.permitsFor(person({ subject: 'b', roles: ['reader'] }), '*')!;
  const c = policies.permitsFor(person({ subject: 'c', roles: ['writer'] }), '*')!;
  assert.equal(a.key, b.key);
  assert.notEqual(a.key, c.key);
  assert.equal(a.permits, b.permits);
});

test('a condition on the arguments decides each call of an item the caller is shown', () => {
  const policies = new Policies([
    rule({ who: who({ roles: ['ops'] }), servers: ['files'], tools: ['read_file'], when: "args.path.startsWith('/srv/public/')" }),
    rule({ who: who({ roles: ['ops'] }), servers: ['files'], tools: ['list_*'] }),
    rule({ effect: 'deny', servers: ['files'], tools: ['list_*'], when: "args.path == '/srv/secret' || user.team == 'interns'" }),
  ]);
  assert.equal(policies.hasConditions, true);
  const ops = person({ roles: ['ops'] });
  const intern = person({ roles: ['ops'], team: 'interns' });
  const { permits } = policies.permitsFor(ops, '*')!;
  // Listing: a conditional allow shows the tool; a conditional deny hides nothing.
  assert.equal(permits('files', 'tools', 'read_file'), true);
  assert.equal(permits('files', 'tools', 'list_directory'), true);
  assert.equal(policies.allowsCall(ops, '*', 'files', 'tools', 'read_file', { path: '/srv/public/a.txt' }), true);
  assert.equal(policies.allowsCall(ops, '*', 'files', 'tools', 'read_file', { path: '/etc/passwd' }), false);
  // A missing argument cannot satisfy the condition.
  assert.equal(policies.allowsCall(ops, '*', 'files', 'tools', 'read_file', {}), false);
  assert.equal(policies.allowsCall(ops, '*', 'files', 'tools', 'list_directory', { path: '/srv' }), true);
  assert.equal(policies.allowsCall(ops, '*', 'files', 'tools', 'list_directory', { path: '/srv/secret' }), false);
  assert.equal(policies.allowsCall(intern, '*', 'files', 'tools', 'list_directory', { path: '/srv' }), false);
});

test('a condition that is not CEL is a config error naming the policy', () => {
  assert.throws(() => new Policies([rule({ when: 'args.(' })]), /auth\.policies\.0\.when/);
});
