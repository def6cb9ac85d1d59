// Per-user OAuth connections, the service alone against a real OpenID provider on loopback: the
// authorization code flow with PKCE bound to the browser that confirmed it, tokens sealed at rest,
// refresh with rotating refresh tokens, and what a user sees when the connection is gone. The clock
// is the test's, so expiry is reached without waiting.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { GatehouseError, type Identity } from '../../src/core/index.js';
import { MemoryStore, SealedBox, UserConnections, type OAuthServer } from '../../src/registry/index.js';
import { startOidcProvider, type OidcProviderFixture } from '../fixtures/oidc-provider.js';

const PUBLIC_URL = 'http://127.0.0.1:9';
const UPSTREAM = 'http://127.0.0.1:9/upstream/mcp';
const CLIENT = { clientId: 'gatehouse-connector', clientSecret: 'connector-secret-0123456789abcdef0123456' };
const TIMEOUT = { timeout: 120_000 };

function user(subject: string): Identity {
  return { kind: 'api-key', subject, name: `${subject}-key`, groups: [], roles: [], scopes: [] };
}

function isError(code: string): (error: unknown) => boolean {
  return (error) => error instanceof GatehouseError && error.code === code;
}

describe('per-user OAuth connections', () => {
  let provider: OidcProviderFixture;
  let store: MemoryStore;
  let box: SealedBox;
  let now: number;
  let connections: UserConnections;
  const connected: string[] = [];

  before(async () => {
    provider = await startOidcProvider({ accessTokenTtlSec: 600 });
    await provider.addAuthorizationCodeClient({ ...CLIENT, redirectUris: [`${PUBLIC_URL}/oauth/callback`], scope: 'mcp' });
  });
  after(() => provider.close());

  beforeEach(() => {
    store = new MemoryStore();
    box = SealedBox.ephemeral();
    now = Date.now();
    connected.length = 0;
    const server: OAuthServer = { url: UPSTREAM, userAuth: { mode: 'oauth', issuer: provider.issuer, ...CLIENT, scope: 'mcp' } };
    connections = new UserConnections({
      store,
      box,
      serverOf: (name) => (name === 'crm' ? server : undefined),
      publicUrl: () => PUBLIC_URL,
      flowTtlMs: 600_000,
      timeoutMs: 20_000,
      warn: () => undefined,
      onConnected: (name, subject, elicitationId) => connected.push(`${name}/${subject}/${elicitationId}`),
      now: () => now,
    });
  });

  /** What a user does in the browser: confirm on the gateway's page, sign in, come back. */
  async function connect(subject: string, login: string): Promise<void> {
    const flow = await connections.begin('crm', user(subject));
    assert.equal(flow.url, `${PUBLIC_URL}/oauth/start?state=${flow.state}`);
    assert.deepEqual(await connections.describe(flow.state), { server: 'crm', user: `${subject}-key` });
    const { redirect, binding } = await connections.confirm(flow.state);
    const callback = new URL(await provider.signInAndConsent(redirect, login));
    assert.equal(callback.searchParams.get('state'), flow.state);
    await connections.complete(flow.state, callback.searchParams.get('code')!, binding);
  }

  test('a completed authorization gives the user a token for the server, as them, asked with PKCE and the resource', TIMEOUT, async () => {
    const flow = await connections.begin('crm', user('alice'));
    const { redirect } = await connections.confirm(flow.state);
    const asked = new URL(redirect);
    assert.equal(asked.searchParams.get('code_challenge_method'), 'S256');
    assert.match(asked.searchParams.get('code_challenge') ?? '', /^[\w-]{43}$/);
    assert.equal(asked.searchParams.get('resource'), UPSTREAM);
    assert.equal(asked.searchParams.get('redirect_uri'), `${PUBLIC_URL}/oauth/callback`);

    await connect('alice', 'alice-at-crm');
    const token = await connections.token('crm', user('alice'), false);
    const claims = decodeJwt(token.accessToken);
    assert.equal(claims.sub, 'alice-at-crm');
    assert.equal(claims.aud, UPSTREAM);
    assert.equal(connected.length, 1);
    assert.match(connected[0]!, /^crm\/alice\//);
    assert.deepEqual((await connections.list('alice')).map((record) => record.server), ['crm']);
    assert.deepEqual(await connections.list('bob'), [], 'connections are per user');
  });

  test('tokens are sealed at rest, and a sealed row moved to another user does not open', TIMEOUT, async () => {
    await connect('alice', 'alice-at-crm');
    const { accessToken } = await connections.token('crm', user('alice'), false);
    const record = await store.getUserConnection('crm', 'alice');
    assert.ok(record !== undefined);
    assert.ok(!record.sealed.includes(accessToken.split('.')[1]!), 'no part of the token in the clear');
    await store.putUserConnection({ server: 'crm', subject: 'mallory', sealed: record.sealed });
    await assert.rejects(connections.token('crm', user('mallory'), false), isError('store_unavailable'));
  });

  test('an expired token is refreshed, and each refresh uses the newest (rotated) refresh token', TIMEOUT, async () => {
    await connect('alice', 'alice-at-crm');
    const first = await connections.token('crm', user('alice'), false);
    assert.equal((await connections.token('crm', user('alice'), false)).accessToken, first.accessToken, 'cached while valid');
    now += 601_000;
    const second = await connections.token('crm', user('alice'), false);
    assert.notEqual(second.accessToken, first.accessToken);
    assert.equal(decodeJwt(second.accessToken).sub, 'alice-at-crm');
    now += 601_000;
    // Had the first refresh token been used again, the provider would have revoked the whole grant.
    const third = await connections.token('crm', user('alice'), false);
    assert.notEqual(third.accessToken, second.accessToken);
    assert.equal(decodeJwt(third.accessToken).sub, 'alice-at-crm');
  });

  test('a refused refresh ends the connection and asks the user to connect again, with a URL', TIMEOUT, async () => {
    await connect('alice', 'alice-at-crm');
    await connections.token('crm', user('alice'), false);
    // The refresh token leaks and is replayed: the provider revokes the grant (rotation's reuse detection).
    const sealed = (await store.getUserConnection('crm', 'alice'))!.sealed;
    const { refreshToken } = JSON.parse(box.open(sealed, 'crm\nalice')) as { refreshToken: string };
    for (let attempt = 0; attempt < 2; attempt++) {
      await fetch(`${provider.issuer}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${CLIENT.clientId}:${CLIENT.clientSecret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
      }).then((response) => response.arrayBuffer());
    }
    now += 601_000;
    const refused = await connections.token('crm', user('alice'), false).then(
      () => assert.fail('expected connection_required'),
      (error: unknown) => error,
    );
    assert.ok(refused instanceof GatehouseError && refused.code === 'connection_required', String(refused));
    const elicitation = (refused.data?.['elicitations'] as { mode: string; url: string; elicitationId: string }[])[0]!;
    assert.equal(elicitation.mode, 'url');
    assert.ok(elicitation.url.startsWith(`${PUBLIC_URL}/oauth/start?state=`));
    assert.equal(await store.getUserConnection('crm', 'alice'), undefined, 'the dead connection is forgotten');
  });

  test('without a connection the user is asked to connect; the URL starts a real flow', TIMEOUT, async () => {
    const refused = await connections.token('crm', user('bob'), false).catch((error: unknown) => error);
    assert.ok(refused instanceof GatehouseError && refused.code === 'connection_required');
    const { elicitationId } = (refused.data?.['elicitations'] as { elicitationId: string }[])[0]!;
    assert.deepEqual(await connections.describe(elicitationId), { server: 'crm', user: 'bob-key' });
  });

  test('an authorization completes only once, only after confirmation, and only with the confirming browser\'s binding', TIMEOUT, async () => {
    const unconfirmed = await connections.begin('crm', user('alice'));
    await assert.rejects(connections.complete(unconfirmed.state, 'code', undefined), isError('oauth_flow_invalid'));

    const flow = await connections.begin('crm', user('alice'));
    const { redirect, binding } = await connections.confirm(flow.state);
    await assert.rejects(connections.confirm(flow.state), isError('oauth_flow_invalid'), 'a second browser cannot take it over');
    const callback = new URL(await provider.signInAndConsent(redirect, 'alice-at-crm'));
    const code = callback.searchParams.get('code')!;
    await assert.rejects(connections.complete(flow.state, code, 'another-browser'), isError('oauth_flow_invalid'));
    // The attempt consumed the flow: even the right browser must start again.
    await assert.rejects(connections.complete(flow.state, code, binding), isError('oauth_flow_invalid'));
    assert.deepEqual(await connections.list('alice'), []);
  });

  test('a flow expires', TIMEOUT, async () => {
    const flow = await connections.begin('crm', user('alice'));
    now += 600_001;
    await assert.rejects(connections.describe(flow.state), isError('oauth_flow_invalid'));
  });

  test('removing a connection forgets it; removing none says so', TIMEOUT, async () => {
    await connect('alice', 'alice-at-crm');
    await connections.remove('crm', 'alice');
    await assert.rejects(connections.token('crm', user('alice'), false), isError('connection_required'));
    await assert.rejects(connections.remove('crm', 'alice'), isError('connection_not_found'));
  });
});
