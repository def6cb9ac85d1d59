// Authentication at the gateway's HTTP edge, against a real OIDC provider on loopback issuing real
// tokens and API keys kept in the gateway's own store: the 401 challenge and the protected resource
// metadata a client discovers the authorization server from, tokens for this gateway and not for
// others, sessions bound to the identity that opened them, revocation on the next request, and the
// admin API's role check.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Registry, openSqliteStore, type Store } from '../../src/registry/index.js';
import { startOidcProvider, type OidcProviderFixture } from '../fixtures/oidc-provider.js';
import { runCli } from '../helpers/cli.js';
import { everythingStdio, startGateway, type GatewayProcess } from '../helpers/gateway-process.js';

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'auth-e2e', version: '1' } },
});

function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });
}

async function connect(url: string, token: string): Promise<Client> {
  const client = new Client({ name: 'auth-e2e', version: '1.0.0' }, { capabilities: {} });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

describe('authentication', () => {
  let provider: OidcProviderFixture;
  let gateway: GatewayProcess;
  let store: Store;
  let registry: Registry;
  let mcp: string;

  before(async () => {
    provider = await startOidcProvider();
    gateway = await startGateway({
      auth: { required: true, issuers: [{ issuer: provider.issuer, requiredScopes: [] }] },
      registry: { healthCheckIntervalMs: 0 },
      servers: { everything: { ...everythingStdio, isolation: 'shared' } },
    });
    mcp = `${gateway.url}/mcp`;
    // The test is another process on the same database: what it creates, the gateway reads per request.
    store = await openSqliteStore(join(gateway.configFile, '..', 'data', 'gatehouse.db'));
    registry = await Registry.open({ store, separator: '__', defaultStatus: 'approved', stdioRegistration: { enabled: false, allowedCommands: [] } });
  });

  after(async () => {
    await store?.close();
    await gateway?.close();
    await provider?.close();
  });

  test('a request without a credential gets 401 and a challenge pointing at the resource metadata', async () => {
    const response = await post(mcp, INITIALIZE);
    assert.equal(response.status, 401);
    const challenge = response.headers.get('www-authenticate') ?? '';
    assert.match(challenge, /^Bearer /);
    assert.doesNotMatch(challenge, /error=/, 'no error code when no credential was sent (RFC 6750 §3.1)');
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
    assert.equal(metadataUrl, `${gateway.url}/.well-known/oauth-protected-resource/mcp`);
    const metadata = (await (await fetch(metadataUrl!)).json()) as { resource: string; authorization_servers: string[]; bearer_methods_supported: string[] };
    assert.equal(metadata.resource, mcp);
    assert.deepEqual(metadata.authorization_servers, [provider.issuer]);
    assert.deepEqual(metadata.bearer_methods_supported, ['header']);
  });

  test('a token from the issuer for this gateway opens a session and calls tools', async () => {
    const token = await provider.token({ resource: mcp });
    const client = await connect(mcp, token);
    try {
      const result = await client.callTool({ name: 'everything__echo', arguments: { message: 'authenticated' } });
      assert.match(JSON.stringify(result.content), /authenticated/);
    } finally {
      await client.close();
    }
  });

  test('the official SDK client finds the authorization server from the 401 and gets a token on its own', async () => {
    // No token configured: the SDK follows the challenge to the resource metadata, then the issuer's
    // metadata, asks the token endpoint for a token for this resource (RFC 8707) and retries.
    const authProvider = new ClientCredentialsProvider({
      clientId: 'agent',
      clientSecret: 'agent-secret-0123456789abcdef0123456789',
      expectedIssuer: provider.issuer,
    });
    const client = new Client({ name: 'sdk-oauth', version: '1.0.0' }, { capabilities: {} });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcp), { authProvider }));
    try {
      const result = await client.callTool({ name: 'everything__echo', arguments: { message: 'discovered' } });
      assert.match(JSON.stringify(result.content), /discovered/);
      assert.ok(authProvider.tokens()?.access_token, 'the SDK obtained a token');
    } finally {
      await client.close();
    }
  });

  test('a token for another resource, a forged token and a token in the URL are refused', async () => {
    const elsewhere = await provider.token({ resource: 'https://other.example.com/mcp' });
    const wrongAudience = await post(mcp, INITIALIZE, { authorization: `Bearer ${elsewhere}` });
    assert.equal(wrongAudience.status, 401);
    assert.match(wrongAudience.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    const forged = await provider.forgeToken({ iss: provider.issuer, aud: mcp, sub: 'mallory', exp: Math.floor(Date.now() / 1000) + 600 });
    assert.equal((await post(mcp, INITIALIZE, { authorization: `Bearer ${forged}` })).status, 401);
    const token = await provider.token({ resource: mcp });
    assert.equal((await post(`${mcp}?access_token=${token}`, INITIALIZE, { authorization: `Bearer ${token}` })).status, 400);
  });

  test('an API key works until it is revoked, and then fails on the very next request', async () => {
    const { token, record } = await registry.createApiKey({ name: 'ci-bot', roles: ['reader'], actor: 'test' });
    const client = await connect(mcp, token);
    try {
      assert.ok((await client.listTools()).tools.length > 0);
      await registry.revokeApiKey(record.id, 'test');
      await assert.rejects(client.listTools(), /401|Unauthorized|invalid_token/i);
    } finally {
      await client.close().catch(() => undefined);
    }
  });

  test('a key limited to one endpoint reaches that endpoint only', async () => {
    const limited = await registry.createApiKey({ name: 'limited', roles: ['reader'], endpoints: ['everything'], actor: 'test' });
    const own = await post(`${gateway.url}/servers/everything/mcp`, INITIALIZE, { authorization: `Bearer ${limited.token}` });
    assert.equal(own.status, 200);
    const aggregate = await post(mcp, INITIALIZE, { authorization: `Bearer ${limited.token}` });
    assert.equal(aggregate.status, 403);
  });

  test('a session opened by one identity does not exist for another', async () => {
    const first = await registry.createApiKey({ name: 'first', roles: ['reader'], actor: 'test' });
    const second = await registry.createApiKey({ name: 'second', roles: ['reader'], actor: 'test' });
    const opened = await post(mcp, INITIALIZE, { authorization: `Bearer ${first.token}` });
    assert.equal(opened.status, 200);
    const sessionId = opened.headers.get('mcp-session-id')!;
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' });
    const own = await post(mcp, ping, { authorization: `Bearer ${first.token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' });
    assert.equal(own.status, 200);
    const stolen = await post(mcp, ping, { authorization: `Bearer ${second.token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' });
    assert.equal(stolen.status, 404);
  });

  test('the admin API needs an admin role', async () => {
    const reader = await registry.createApiKey({ name: 'reader', roles: ['reader'], actor: 'test' });
    // The first admin key cannot come through the admin API once auth is required: the CLI writes it
    // straight into the store named by the config file.
    const created = await runCli(['keys', 'create', '--config', gateway.configFile, '--name', 'root', '--role', 'admin', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const admin = JSON.parse(created.stdout) as { token: string };
    const servers = `${gateway.url}/admin/api/v1/servers`;
    assert.equal((await fetch(servers)).status, 401);
    assert.equal((await fetch(servers, { headers: { authorization: `Bearer ${reader.token}` } })).status, 403);
    const allowed = await fetch(servers, { headers: { authorization: `Bearer ${admin.token}` } });
    assert.equal(allowed.status, 200);
    // The change log names the key that made a change.
    const virtual = await fetch(`${gateway.url}/admin/api/v1/virtual-servers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'echoes', tools: [{ server: 'everything', name: 'echo' }] }),
    });
    assert.equal(virtual.status, 201);
    const events = (await (await fetch(`${gateway.url}/admin/api/v1/events?limit=1`, { headers: { authorization: `Bearer ${admin.token}` } })).json()) as {
      items: { actor: string; action: string }[];
    };
    assert.deepEqual(events.items.map((event) => [event.actor, event.action]), [['api-key:root', 'virtual.create']]);
  });
});
