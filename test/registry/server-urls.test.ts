// A server with several endpoints (`urls`): what the config accepts and refuses, and what the places
// that need one URL (client configs, server.json, OAuth resource defaults) make of it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateConfig } from '../../src/config/index.js';
import { endpointsOf, primaryUrlOf, serverSchema, toClientConfig, toServerJson, type ServerSpec } from '../../src/registry/index.js';

function problem(document: unknown): string {
  try {
    validateConfig(document);
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail('expected the config to be refused');
}

describe('servers with several endpoints', () => {
  test('`urls` takes URLs and {url, weight} entries; weights default to 1', () => {
    const config = validateConfig({ servers: { svc: { urls: ['http://a.test/mcp', { url: 'http://b.test/mcp', weight: 3 }] } } });
    const spec = config.servers.svc!;
    if (spec.transport === 'stdio') assert.fail('inferred as stdio');
    assert.equal(spec.transport, 'streamable-http');
    assert.deepEqual(endpointsOf(spec), [
      { url: 'http://a.test/mcp', weight: 1 },
      { url: 'http://b.test/mcp', weight: 3 },
    ]);
    assert.equal(primaryUrlOf(spec), 'http://a.test/mcp');
  });

  test('`url` alone still works, as the one endpoint', () => {
    const spec = serverSchema.parse({ url: 'http://a.test/mcp' });
    if (spec.transport === 'stdio') assert.fail('inferred as stdio');
    assert.deepEqual(endpointsOf(spec), [{ url: 'http://a.test/mcp', weight: 1 }]);
  });

  test('exactly one of `url` and `urls`, no URL twice, weights positive', () => {
    assert.match(problem({ servers: { svc: { url: 'http://a.test/mcp', urls: ['http://b.test/mcp'] } } }), /either `url` or `urls`/);
    assert.match(problem({ servers: { svc: { transport: 'streamable-http' } } }), /either `url` or `urls`/);
    assert.match(problem({ servers: { svc: { urls: ['http://a.test/mcp', { url: 'http://a.test/mcp' }] } } }), /once in `urls`/);
    assert.match(problem({ servers: { svc: { urls: [{ url: 'http://a.test/mcp', weight: 0 }] } } }), /weight/);
    assert.match(problem({ servers: { svc: { urls: [] } } }), /urls/);
  });

  test('a client config gets the first URL; server.json lists every endpoint as a remote', () => {
    const spec = serverSchema.parse({ urls: ['http://a.test/mcp', 'http://b.test/mcp'] }) as ServerSpec;
    assert.deepEqual(toClientConfig({ svc: spec }, 'cursor'), { mcpServers: { svc: { url: 'http://a.test/mcp' } } });
    const remotes = toServerJson('svc', spec).remotes as { url: string }[];
    assert.deepEqual(
      remotes.map((remote) => remote.url),
      ['http://a.test/mcp', 'http://b.test/mcp'],
    );
  });
});
