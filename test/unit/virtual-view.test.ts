import assert from 'node:assert/strict';
import { test } from 'node:test';
import { virtualServerSchema } from '../../src/registry/index.js';
import { virtualView } from '../../src/router/index.js';

const servers = new Map([
  ['github', { tags: ['scm', 'read'] }],
  ['gitlab', { tags: ['scm'] }],
  ['jira', { tags: ['tickets'] }],
]);

function view(spec: unknown) {
  return virtualView('team', virtualServerSchema.parse(spec), servers);
}

test('a virtual server reaches only the servers its selectors name, by name, glob or tag', () => {
  assert.deepEqual(view({ tools: [{ server: 'git*', name: 'get_*' }] }).servers, ['github', 'gitlab']);
  assert.deepEqual(view({ tools: [{ tag: 'read' }] }).servers, ['github']);
  assert.deepEqual(view({ prompts: [{ server: 'jira' }] }).servers, ['jira']);
  assert.deepEqual(view({}).servers, []);
});

test('selects items by glob, and the first matching selector decides the name and description shown', () => {
  const team = view({
    tools: [
      { server: 'github', name: 'get_issue', as: 'issue', description: 'Reads one issue.' },
      { server: 'git*', name: 'get_*' },
    ],
  });
  const select = team.select!;
  assert.deepEqual(select('github', 'tools', { name: 'get_issue', description: 'x' }), {
    exposed: 'issue',
    item: { name: 'issue', description: 'Reads one issue.' },
  });
  assert.equal(select('gitlab', 'tools', { name: 'get_mr' })?.exposed, 'get_mr');
  assert.equal(select('github', 'tools', { name: 'create_issue' }), undefined);
  assert.equal(select('jira', 'tools', { name: 'get_ticket' }), undefined);
  // A kind with no selectors shows nothing.
  assert.equal(select('github', 'prompts', { name: 'get_issue' }), undefined);
});

test('resource selectors match URIs and URI templates; "*" stops at "/" and "**" crosses it', () => {
  const select = view({ resources: [{ server: 'github', uri: 'repo://docs/*' }, { server: 'jira', uri: 'jira://**' }] }).select!;
  assert.ok(select('github', 'resources', { uri: 'repo://docs/readme.md' }));
  assert.equal(select('github', 'resources', { uri: 'repo://docs/deep/readme.md' }), undefined);
  assert.ok(select('jira', 'resourceTemplates', { uriTemplate: 'jira://issue/{key}' }));
});

test('`as` with a glob name is a config error', () => {
  assert.throws(() => virtualServerSchema.parse({ tools: [{ name: 'get_*', as: 'x' }] }), /exact `name`/);
});
