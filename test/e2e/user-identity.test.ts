// Acting as the user toward upstreams, end to end through a gateway process: RFC 8693 token exchange
// of the caller's token, and per-user OAuth connections made in a browser (the provider's real sign-in
// pages, driven like a browser). The upstream reports every header it gets, so the tests read exactly
// which token reached it; the caller's own credential never does.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ElicitationCompleteNotificationSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { Registry, openSqliteStore, type Store } from '../../src/registry/index.js';
import { fixturePath, startHttpFixture, type HttpFixture } from '../fixtures/spawn-fixture.js';
import { startOidcProvider, type OidcProviderFixture } from '../fixtures/oidc-provider.js';
import { startGateway, type GatewayProcess } from '../helpers/gateway-process.js';

const CONNECTOR = { clientId: 'gatehouse-connector', clientSecret: 'connector-secret-0123456789abcdef0123456' };
const TIMEOUT = { timeout: 120_000 };

async function connectClient(url: string, credential: string, capabilities: Record<string, unknown> = {}): Promise<Client> {
  const client = new Client({ name: 'user-identity-test', version: '1.0.0' }, { capabilities });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${credential}` } } }));
  return client;
}

/** The headers the recorder upstream saw for a call, or the tool result's text when it failed. */
async function headersSeen(client: Client, tool: string): Promise<Record<string, string>> {
  const result = await client.callTool({ name: tool, arguments: {} });
  const text = (result.content as { text: string }[])[0]!.text;
  assert.notEqual(result.isError, true, text);
  return JSON.parse(text) as Record<string, string>;
}

function bearerOf(headers: Record<string, string>): string {
  const match = /^Bearer (\S+)$/.exec(headers.authorization ?? '');
  assert.ok(match, `expected a bearer token upstream, got ${JSON.stringify(headers.authorization)}`);
  return match[1]!;
}

describe('acting as the user toward upstreams', () => {
  let provider: OidcProviderFixture;
  let upstream: HttpFixture;
  let gateway: GatewayProcess;
  let store: Store;
  let alice: { token: string; id: string };
  let bob: { token: string; id: string };

  before(async () => {
    provider = await startOidcProvider();
    upstream = await startHttpFixture(fixturePath('header-recorder.ts'));
    const discovery = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
    gateway = await startGateway({
      auth: { required: true, issuers: [{ issuer: provider.issuer }] },
      registry: { healthCheckIntervalMs: 0 },
      servers: {
        exchanged: {
          url: upstream.url,
          userAuth: { mode: 'token-exchange', tokenUrl: discovery.token_endpoint, ...provider.exchangeClient, scope: 'mcp:read' },
        },
        connected: { url: upstream.url, userAuth: { mode: 'oauth', issuer: provider.issuer, ...CONNECTOR, scope: 'mcp' } },
      },
    });
    // The redirect URI names the gateway's port, known only now.
    await provider.addAuthorizationCodeClient({ ...CONNECTOR, redirectUris: [`${gateway.url}/oauth/callback`], scope: 'mcp' });
    store = await openSqliteStore(join(gateway.configFile, '..', 'data', 'gatehouse.db'));
    const registry = await Registry.open({ store, separator: '__', defaultStatus: 'approved', stdioRegistration: { enabled: false, allowedCommands: [] } });
    const created = async (name: string) => {
      const key = await registry.createApiKey({ name, roles: ['user'], actor: 'test' });
      return { token: key.token, id: key.record.id };
    };
    alice = await created('alice');
    bob = await created('bob');
  });

  after(async () => {
    await store?.close();
    await gateway?.close();
    await upstream?.close();
    await provider?.close();
  });

  test('token exchange: the upstream gets a token for itself with the caller as subject and the gateway as actor', TIMEOUT, async () => {
    const callerToken = await provider.token({ resource: `${gateway.url}/mcp` });
    const exchangesBefore = provider.tokenExchangeCount();
    const client = await connectClient(`${gateway.url}/mcp`, callerToken);
    try {
      const token = bearerOf(await headersSeen(client, 'exchanged__headers'));
      assert.notEqual(token, callerToken, 'never the caller\'s own token');
      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(provider.jwksUri)), { issuer: provider.issuer, audience: upstream.url });
      assert.equal(payload.sub, decodeJwt(callerToken).sub);
      assert.deepEqual(payload['act'], { sub: provider.exchangeClient.clientId });
      assert.equal(payload['scope'], 'mcp:read');
      assert.equal(provider.tokenExchangeCount(), exchangesBefore + 1);
    } finally {
      await client.close();
    }
    // Another session of the same caller token reuses the exchanged token instead of exchanging again.
    const again = await connectClient(`${gateway.url}/mcp`, callerToken);
    try {
      await headersSeen(again, 'exchanged__headers');
      assert.equal(provider.tokenExchangeCount(), exchangesBefore + 1);
    } finally {
      await again.close();
    }
  });

  test('token exchange needs an OAuth caller: an API key caller is told so in the tool result', TIMEOUT, async () => {
    const client = await connectClient(`${gateway.url}/mcp`, alice.token);
    try {
      const result = await client.callTool({ name: 'exchanged__headers', arguments: {} });
      assert.equal(result.isError, true);
      assert.match((result.content as { text: string }[])[0]!.text, /OAuth access token/);
    } finally {
      await client.close();
    }
  });

  test('OAuth connection: the user connects once in a browser, then calls act as their upstream account', TIMEOUT, async () => {
    const client = await connectClient(`${gateway.url}/mcp`, alice.token, { elicitation: { url: {} } });
    try {
      // MCP 2025-11-25: a client that handles URL elicitations gets -32042 with the URL to open.
      const refused = await client.callTool({ name: 'connected__headers', arguments: {} }).then(
        () => assert.fail('expected a URL elicitation'),
        (error: unknown) => error,
      );
      assert.ok(refused instanceof McpError && refused.code === -32042, String(refused));
      const elicitation = (refused.data as { elicitations: { mode: string; url: string; elicitationId: string }[] }).elicitations[0]!;
      assert.equal(elicitation.mode, 'url');
      assert.ok(elicitation.url.startsWith(`${gateway.url}/oauth/start?state=`), elicitation.url);
      const completed = new Promise<string>((resolve) =>
        client.setNotificationHandler(ElicitationCompleteNotificationSchema, (notification) => resolve(notification.params.elicitationId)),
      );

      // The browser: the gateway's page names the account, the form confirms it and binds this browser.
      const page = await fetch(elicitation.url);
      const html = await page.text();
      assert.equal(page.status, 200);
      assert.match(html, /connected/);
      assert.match(html, /alice/);
      const confirm = await fetch(`${gateway.url}/oauth/start`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gateway.url },
        body: new URLSearchParams({ state: elicitation.elicitationId }),
        redirect: 'manual',
      });
      assert.equal(confirm.status, 303);
      const cookie = (confirm.headers.get('set-cookie') ?? '').split(';')[0]!;
      assert.match(cookie, /^gatehouse_oauth_\w+=\S+/);
      const callback = await provider.signInAndConsent(confirm.headers.get('location')!, 'alice-at-upstream');
      assert.ok(callback.startsWith(`${gateway.url}/oauth/callback?`), callback);
      const back = await fetch(callback, { headers: { cookie } });
      assert.equal(back.status, 200, await back.clone().text());
      assert.match(await back.text(), /connected/i);
      assert.equal(await completed, elicitation.elicitationId, 'the session is told the elicitation completed');

      const token = bearerOf(await headersSeen(client, 'connected__headers'));
      const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(provider.jwksUri)), { issuer: provider.issuer, audience: upstream.url });
      assert.equal(payload.sub, 'alice-at-upstream');

      // At rest the token is sealed.
      const record = await store.getUserConnection('connected', alice.id);
      assert.ok(record !== undefined);
      assert.ok(!record.sealed.includes(token.split('.')[1]!));

      // Replaying the provider's redirect does nothing.
      assert.equal((await fetch(callback, { headers: { cookie } })).status, 400);
    } finally {
      await client.close();
    }
  });

  test('connections are per user: another user is asked to connect, in the tool result when their client has no URL elicitation', TIMEOUT, async () => {
    const client = await connectClient(`${gateway.url}/mcp`, bob.token);
    try {
      const result = await client.callTool({ name: 'connected__headers', arguments: {} });
      assert.equal(result.isError, true);
      assert.match((result.content as { text: string }[])[0]!.text, new RegExp(`open ${gateway.url.replace(/[.]/g, '\\.')}/oauth/start\\?state=\\S+ to connect`));
    } finally {
      await client.close();
    }
  });

  test('the redirect back is refused in a browser that did not confirm on the gateway\'s page', TIMEOUT, async () => {
    const started = await fetch(`${gateway.url}/connections/connected`, { method: 'POST', headers: { authorization: `Bearer ${bob.token}` } });
    assert.equal(started.status, 201);
    const { url } = (await started.json()) as { url: string };
    const state = new URL(url).searchParams.get('state')!;
    const confirm = await fetch(`${gateway.url}/oauth/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: gateway.url },
      body: new URLSearchParams({ state }),
      redirect: 'manual',
    });
    const callback = await provider.signInAndConsent(confirm.headers.get('location')!, 'mallory-at-upstream');
    const back = await fetch(callback);
    assert.equal(back.status, 400);
    const listed = await fetch(`${gateway.url}/connections`, { headers: { authorization: `Bearer ${bob.token}` } });
    assert.deepEqual(await listed.json(), { connections: [{ server: 'connected', connected: false }] });
  });

  test('a confirmation posted from another site is refused', TIMEOUT, async () => {
    const started = await fetch(`${gateway.url}/connections/connected`, { method: 'POST', headers: { authorization: `Bearer ${bob.token}` } });
    const state = new URL(((await started.json()) as { url: string }).url).searchParams.get('state')!;
    const confirm = await fetch(`${gateway.url}/oauth/start`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://attacker.example' },
      body: new URLSearchParams({ state }),
      redirect: 'manual',
    });
    assert.equal(confirm.status, 403);
  });

  test('the caller lists and removes their connections; the API needs a credential', TIMEOUT, async () => {
    assert.equal((await fetch(`${gateway.url}/connections`)).status, 401);
    const listed = await fetch(`${gateway.url}/connections`, { headers: { authorization: `Bearer ${alice.token}` } });
    const body = (await listed.json()) as { connections: { server: string; connected: boolean }[] };
    assert.deepEqual(body.connections.map(({ server, connected }) => ({ server, connected })), [{ server: 'connected', connected: true }]);
    const removed = await fetch(`${gateway.url}/connections/connected`, { method: 'DELETE', headers: { authorization: `Bearer ${alice.token}` } });
    assert.equal(removed.status, 204);
    const again = await fetch(`${gateway.url}/connections/connected`, { method: 'DELETE', headers: { authorization: `Bearer ${alice.token}` } });
    assert.equal(again.status, 404);
    const client = await connectClient(`${gateway.url}/mcp`, alice.token);
    try {
      const result = await client.callTool({ name: 'connected__headers', arguments: {} });
      assert.equal(result.isError, true, 'asked to connect again');
    } finally {
      await client.close();
    }
  });
});

describe('a caller that refreshes its access token mid-session', () => {
  let provider: OidcProviderFixture;
  let upstream: HttpFixture;
  let gateway: GatewayProcess;

  before(async () => {
    // Tokens that live less than the gateway's renewal margin (30 s): every call exchanges again,
    // from the token the session holds at that moment.
    provider = await startOidcProvider({ accessTokenTtlSec: 25 });
    upstream = await startHttpFixture(fixturePath('header-recorder.ts'));
    const discovery = (await (await fetch(`${provider.issuer}/.well-known/openid-configuration`)).json()) as { token_endpoint: string };
    gateway = await startGateway({
      auth: { required: true, issuers: [{ issuer: provider.issuer }] },
      registry: { healthCheckIntervalMs: 0 },
      servers: { exchanged: { url: upstream.url, userAuth: { mode: 'token-exchange', tokenUrl: discovery.token_endpoint, ...provider.exchangeClient, scope: 'mcp:read' } } },
    });
  });

  after(async () => {
    await gateway?.close();
    await upstream?.close();
    await provider?.close();
  });

  for (const front of ['Streamable HTTP', 'legacy HTTP+SSE'] as const) {
    test(`over ${front}, exchanges from then on start from the newer token`, TIMEOUT, async () => {
      // For the whole gateway: the legacy transport uses two endpoints (the stream and the messages POST).
      const resource = gateway.url;
      let presented = await provider.token({ resource });
      // Every request of the session (the SSE stream's GET included) carries the token the client holds now.
      const withCurrentToken: FetchLike = (url, init) => {
        const headers = new Headers(init?.headers);
        headers.set('authorization', `Bearer ${presented}`);
        return fetch(url, { ...init, headers });
      };
      const transport =
        front === 'Streamable HTTP'
          ? new StreamableHTTPClientTransport(new URL(`${gateway.url}/mcp`), { fetch: withCurrentToken })
          : new SSEClientTransport(new URL(`${gateway.url}/sse`), { fetch: withCurrentToken });
      const client = new Client({ name: 'user-identity-test', version: '1.0.0' }, { capabilities: {} });
      await client.connect(transport);
      try {
        await headersSeen(client, 'exchanged__headers');
        assert.ok(provider.exchangedSubjectTokens().includes(presented), 'the token the session began with was exchanged');
        const older = presented;
        presented = await provider.token({ resource });
        assert.notEqual(presented, older, 'the provider issued a new token');
        // An exchange already under way when the client switched may finish with the older token; the
        // next renewal must start from the newer one (without the refresh it never would).
        for (let call = 0; call < 5 && !provider.exchangedSubjectTokens().includes(presented); call++) await headersSeen(client, 'exchanged__headers');
        assert.ok(provider.exchangedSubjectTokens().includes(presented), 'the newer token was exchanged, not only the one the session began with');
      } finally {
        await client.close();
      }
    });
  }
});
