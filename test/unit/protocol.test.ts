import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { adaptToolResultForRevision, exceedsDepth, negotiateRevision, toMessage } from '../../src/protocol/index.js';
import { exposedName, exposedUri, splitExposedUri, MAX_NAME_LENGTH } from '../../src/router/index.js';

describe('protocol helpers', () => {
  test('the depth check finds deep nesting without parsing, ignoring brackets inside strings', () => {
    assert.equal(exceedsDepth(Buffer.from('{"a":[[["x"]]]}'), 4), false);
    assert.equal(exceedsDepth(Buffer.from('{"a":[[[["x"]]]]}'), 4), true);
    assert.equal(exceedsDepth(Buffer.from('{"a":"[[[[[[[[\\"[[[["}'), 2), false);
    const deep = Buffer.from(`${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    assert.equal(exceedsDepth(deep, 64), true);
  });

  test('envelopes are checked: ids are strings or numbers, params objects', () => {
    assert.throws(() => toMessage({ jsonrpc: '2.0', id: null, method: 'x' }));
    assert.throws(() => toMessage({ jsonrpc: '2.0', id: 1, method: 'x', params: [1] }));
    assert.throws(() => toMessage({ jsonrpc: '2.0', id: 1, result: {}, error: { code: 1, message: '' } }));
    assert.deepEqual(toMessage({ jsonrpc: '2.0', id: 'a', method: 'x' }), { jsonrpc: '2.0', id: 'a', method: 'x' });
  });

  test('version negotiation answers the requested revision when supported, else the latest', () => {
    assert.equal(negotiateRevision('2024-11-05'), '2024-11-05');
    assert.equal(negotiateRevision('2025-06-18'), '2025-06-18');
    assert.equal(negotiateRevision('1999-01-01'), '2025-11-25');
    assert.equal(negotiateRevision(undefined), '2025-11-25');
  });

  test('long names are shortened deterministically to 64 characters', () => {
    const long = 'a_very_long_tool_name_that_goes_on_and_on_and_on_for_a_while_longer';
    const first = exposedName('github', long, '__');
    assert.equal(first.length, MAX_NAME_LENGTH);
    assert.equal(first, exposedName('github', long, '__'));
    assert.notEqual(first, exposedName('github', `${long}2`, '__'));
    assert.equal(exposedName('github', 'create_issue', '__'), 'github__create_issue');
  });

  test('resource URIs are prefixed reversibly', () => {
    const uri = exposedUri('files', 'git+https://x/y');
    assert.equal(uri, 'files+git+https://x/y');
    assert.deepEqual(splitExposedUri(uri, (name) => name === 'files'), { server: 'files', uri: 'git+https://x/y' });
    assert.equal(splitExposedUri('git+https://x/y', (name) => name === 'files'), undefined);
  });
});

describe('bridging content to older session-era clients', () => {
  const result = {
    content: [
      { type: 'text', text: 'hello' },
      { type: 'resource_link', uri: 'file:///a.txt', name: 'a.txt', description: 'a file' },
      { type: 'audio', data: 'AAAA', mimeType: 'audio/wav' },
    ],
  };

  test('a 2025-11-25 client gets the result unchanged (the same object)', () => {
    assert.equal(adaptToolResultForRevision(result, '2025-11-25'), result);
  });

  test('a 2025-03-26 client gets resource links as text and keeps audio', () => {
    const adapted = adaptToolResultForRevision(result, '2025-03-26');
    assert.deepEqual((adapted.content as { type: string }[]).map((block) => block.type), ['text', 'text', 'audio']);
    assert.match(JSON.stringify(adapted.content), /Resource link: a\.txt <file:\/\/\/a\.txt> — a file/);
  });

  test('a 2024-11-05 client gets audio as text too', () => {
    const adapted = adaptToolResultForRevision(result, '2024-11-05');
    assert.deepEqual((adapted.content as { type: string }[]).map((block) => block.type), ['text', 'text', 'text']);
  });
});
