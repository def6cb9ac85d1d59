// Client credentials are never passed through (MCP authorization spec 2025-11-25, "token
// passthrough" is forbidden): an upstream that reports every header it receives never sees the
// caller's API key or token, only the headers configured for it, plus the caller's identity where
// the server opted in with forwardIdentity.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Registry, openSqliteStore, type Store } from '../../src/registry/index.js';
import { fixturePath, startHttpFixture, type HttpFixture } from '../fixtures/spawn-fixture.js';
import { startOidcProvider, type OidcProviderFixture } from '../fixtures/oidc-provider.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js';

async function headersSeenUpstream(url: string, token: string, tool: string): Promise<Record<string, string>> {
  const client = new Client({ name: 'canary', version: '1.0.0' }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  try {
    const result = await client.callTool({ name: tool, arguments: {} });
    const text = (result.content as { text: string }[])[0]!.text;
    return JSON.parse(text) as Record<string, string>;
  } finally {
    await client.close();
  }
}

describe('credentials toward upstreams', () => {
  let provider: OidcProviderFixture;
  let upstream: HttpFixture;
  let gateway: GatewayProcess;
  let store: Store;
  let apiKey: string;

  before(async () => {
    provider = await startOidcProvider();
    upstream = await startHttpFixture(fixturePath('header-recorder.ts'));
    const discovery = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
    gateway = await startGateway({
      auth: { required: true, issuers: [{ issuer: provider.issuer }] },
      registry: { healthCheckIntervalMs: 0 },
      servers: {
        plain: { url: upstream.url, headers: { 'x-upstream-credential': 'configured-for-plain' } },
        told: { url: upstream.url, forwardIdentity: true },
        machine: {
          url: upstream.url,
          oauth: { tokenUrl: discovery.token_endpoint, clientId: 'agent', clientSecret: 'agent-secret-0123456789abcdef0123456789', scope: 'mcp' },
        },
      },
    });
    store = await openSqliteStore(join(gateway.configFile, '..', 'data', 'gatehouse.db'));
    const registry = await Registry.open({ store, separator: '__', defaultStatus: 'approved', stdioRegistration: { enabled: false, allowedCommands: [] } });
    apiKey = (await registry.createApiKey({ name: 'canary-bot', roles: ['reader', 'ops'], actor: 'test' })).token;
  });

  after(async () => {
    await store?.close();
    await gateway?.close();
    await upstream?.close();
    await provider?.close();
  });

  test('the caller\'s API key never reaches the upstream; the configured header does', async () => {
    const seen = await headersSeenUpstream(`${gateway.url}/mcp`, apiKey, 'plain__headers');
    assert.ok(!JSON.stringify(seen).includes(apiKey.slice(4, 20)), JSON.stringify(seen));
    assert.equal(seen.authorization, undefined);
    assert.equal(seen['x-upstream-credential'], 'configured-for-plain');
    assert.equal(seen['x-gatehouse-user'], undefined, 'identity is sent only to servers that opt in');
  });

  test('the caller\'s access token never reaches the upstream either', async () => {
    const token = await provider.token({ resource: `${gateway.url}/mcp` });
    const seen = await headersSeenUpstream(`${gateway.url}/mcp`, token, 'plain__headers');
    const signature = token.split('.')[2]!;
    assert.ok(!JSON.stringify(seen).includes(signature.slice(0, 24)), JSON.stringify(seen));
    assert.equal(seen.authorization, undefined);
  });

  test('a server that opted in gets who is calling, never how they proved it', async () => {
    const seen = await headersSeenUpstream(`${gateway.url}/mcp`, apiKey, 'told__headers');
    assert.match(seen['x-gatehouse-user'] ?? '', /^[A-Za-z0-9]+$/);
    assert.equal(seen['x-gatehouse-user-name'], 'canary-bot');
    assert.equal(seen['x-gatehouse-roles'], 'reader,ops');
    assert.equal(seen.authorization, undefined);
    assert.ok(!JSON.stringify(seen).includes(apiKey.slice(4, 20)));
    const token = await provider.token({ resource: `${gateway.url}/mcp` });
    const fromToken = await headersSeenUpstream(`${gateway.url}/mcp`, token, 'told__headers');
    assert.equal(decodeURIComponent(fromToken['x-gatehouse-user-name'] ?? ''), 'agent@example.com');
    assert.equal(fromToken['x-gatehouse-team'], 'payments');
  });

  test('a server with oauth gets the gateway\'s own token for it, not the caller\'s', async () => {
    const seen = await headersSeenUpstream(`${gateway.url}/mcp`, apiKey, 'machine__headers');
    const authorization = seen.authorization ?? '';
    assert.match(authorization, /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    assert.ok(!authorization.includes(apiKey));
    const claims = JSON.parse(Buffer.from(authorization.split('.')[1]!, 'base64url').toString('utf8')) as { aud: unknown; iss: string; client_id?: string };
    // RFC 8707: the token is for this upstream (its url is the default resource), from the configured issuer.
    assert.equal(claims.iss, provider.issuer);
    assert.deepEqual([claims.aud].flat(), [upstream.url]);
    // The same token serves the next session: it is fetched once and renewed before it expires.
    const again = await headersSeenUpstream(`${gateway.url}/mcp`, apiKey, 'machine__headers');
    assert.equal(again.authorization, authorization);
  });
});
