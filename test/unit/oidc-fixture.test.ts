// The OpenID provider fixture's user-facing flows, which tests of acting as the user toward
// upstreams stand on: RFC 8693 token exchange at the real token endpoint, and the authorization
// code flow with PKCE (RFC 7636), resource indicators (RFC 8707) and refresh tokens, driven through
// the provider's own sign-in and consent pages. Everything on 127.0.0.1 with OS-assigned ports.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT_TYPE, startOidcProvider } from '../fixtures/oidc-provider.js';
import type { OidcProviderFixture } from '../fixtures/oidc-provider.js';

const GATEWAY = 'https://gateway.test/mcp';
const UPSTREAM = 'https://upstream.test/api';
const TIMEOUT = { timeout: 120_000 };

interface TokenResponse {
  readonly status: number;
  readonly body: Readonly<Record<string, unknown>>;
}

function basic(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
}

async function tokenRequest(
  provider: OidcProviderFixture,
  client: { readonly clientId: string; readonly clientSecret: string },
  form: Record<string, string>,
): Promise<TokenResponse> {
  const response = await fetch(`${provider.issuer}/token`, {
    method: 'POST',
    headers: { authorization: basic(client.clientId, client.clientSecret), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

function exchange(provider: OidcProviderFixture, subjectToken: string, extra: Record<string, string> = {}): Promise<TokenResponse> {
  return tokenRequest(provider, provider.exchangeClient, {
    grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
    ...extra,
  });
}

async function verify(provider: OidcProviderFixture, token: string, audience: string) {
  const jwks = createRemoteJWKSet(new URL(provider.jwksUri), { timeoutDuration: 20_000 });
  return jwtVerify(token, jwks, { issuer: provider.issuer, audience, typ: 'at+jwt' });
}

describe('RFC 8693 token exchange', () => {
  let provider: OidcProviderFixture;
  before(async () => {
    provider = await startOidcProvider();
  });
  after(() => provider.close());

  test('trades an access token of the provider for one for another audience, signed with the published key', TIMEOUT, async () => {
    const subject = await provider.token({ resource: GATEWAY, scope: 'mcp' });
    const before = provider.tokenExchangeCount();
    const { status, body } = await exchange(provider, subject, { resource: UPSTREAM, scope: 'mcp:read' });
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body['issued_token_type'], ACCESS_TOKEN_TYPE);
    assert.equal(body['token_type'], 'Bearer');
    assert.equal(body['expires_in'], 600);
    assert.equal(typeof body['access_token'], 'string');
    const token = body['access_token'] as string;

    const { payload, protectedHeader } = await verify(provider, token, UPSTREAM);
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(protectedHeader.kid, provider.currentRsaKid);
    assert.equal(payload.sub, 'agent');
    assert.equal(payload.aud, UPSTREAM);
    assert.equal(payload['client_id'], 'exchanger');
    assert.deepEqual(payload['act'], { sub: 'exchanger' });
    assert.equal(payload['scope'], 'mcp:read');
    assert.equal(payload['email'], 'agent@example.com', 'the claims naming the subject carry over');
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 600);
    assert.equal(typeof payload.jti, 'string');
    assert.equal(provider.tokenExchangeCount(), before + 1);
    // The gateway's own token is not good for the upstream, nor the other way round.
    await assert.rejects(verify(provider, subject, UPSTREAM));
    await assert.rejects(verify(provider, token, GATEWAY));
  });

  test('takes `audience` as well as `resource`, and signs with the new key after a rotation', TIMEOUT, async () => {
    const subject = await provider.token({ resource: GATEWAY });
    const kid = await provider.rotateSigningKey();
    const { status, body } = await exchange(provider, subject, { audience: 'upstream-api' });
    assert.equal(status, 200, JSON.stringify(body));
    const token = body['access_token'] as string;
    assert.equal(decodeProtectedHeader(token).kid, kid);
    const { payload } = await verify(provider, token, 'upstream-api');
    assert.equal(payload.sub, 'agent');
    assert.equal(payload['scope'], undefined);

    // Both, or either repeated, make an audience list.
    const both = await exchange(provider, subject, { resource: UPSTREAM, audience: 'upstream-api' });
    assert.equal(both.status, 200, JSON.stringify(both.body));
    assert.deepEqual(decodeJwt(both.body['access_token'] as string).aud, [UPSTREAM, 'upstream-api']);
  });

  test('refuses a forged, foreign or malformed subject token with invalid_grant', TIMEOUT, async () => {
    const before = provider.tokenExchangeCount();
    const now = Math.floor(Date.now() / 1000);
    const forged = await provider.forgeToken({ iss: provider.issuer, sub: 'mallory', aud: GATEWAY, iat: now, exp: now + 600 });
    const stranger = await startOidcProvider();
    try {
      const foreign = await stranger.token({ resource: GATEWAY });
      for (const subjectToken of [forged, foreign, 'not-a-jwt']) {
        const { status, body } = await exchange(provider, subjectToken, { resource: UPSTREAM });
        assert.equal(status, 400, JSON.stringify(body));
        assert.equal(body['error'], 'invalid_grant', JSON.stringify(body));
      }
    } finally {
      await stranger.close();
    }
    assert.equal(provider.tokenExchangeCount(), before);
  });

  test('refuses an expired subject token with invalid_grant', TIMEOUT, async () => {
    const shortLived = await startOidcProvider({ accessTokenTtlSec: 1 });
    try {
      const subject = await shortLived.token({ resource: GATEWAY });
      const exp = decodeJwt(subject).exp ?? 0;
      // Past exp by the provider's (second-granular) clock: no timing assertion, just a wait.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, (exp + 1) * 1000 - Date.now()) + 100));
      const { status, body } = await exchange(shortLived, subject, { resource: UPSTREAM });
      assert.equal(status, 400, JSON.stringify(body));
      assert.equal(body['error'], 'invalid_grant');
      assert.match(String(body['error_description']), /expired/);
      assert.equal(shortLived.tokenExchangeCount(), 0);
    } finally {
      await shortLived.close();
    }
  });

  test('checks the request: token type, a target, and the client allowed the grant', TIMEOUT, async () => {
    const subject = await provider.token({ resource: GATEWAY });
    const wrongType = await exchange(provider, subject, { resource: UPSTREAM, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' });
    assert.equal(wrongType.status, 400);
    assert.equal(wrongType.body['error'], 'invalid_request');

    const noTarget = await exchange(provider, subject);
    assert.equal(noTarget.status, 400);
    assert.equal(noTarget.body['error'], 'invalid_request');

    const badResource = await exchange(provider, subject, { resource: 'not a uri' });
    assert.equal(badResource.status, 400);
    assert.equal(badResource.body['error'], 'invalid_target');

    // `agent` may only use client_credentials: oidc-provider refuses before the grant runs.
    const notAllowed = await tokenRequest(provider, { clientId: 'agent', clientSecret: 'agent-secret-0123456789abcdef0123456789' }, {
      grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
      subject_token: subject,
      subject_token_type: ACCESS_TOKEN_TYPE,
      resource: UPSTREAM,
    });
    assert.equal(notAllowed.status, 400, JSON.stringify(notAllowed.body));
    assert.equal(notAllowed.body['error'], 'invalid_request');
    assert.match(String(notAllowed.body['error_description']), /grant type is not allowed/);

    const badSecret = await tokenRequest(provider, { clientId: 'exchanger', clientSecret: 'wrong-secret-0123456789abcdef0123456789' }, {
      grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
      subject_token: subject,
      subject_token_type: ACCESS_TOKEN_TYPE,
      resource: UPSTREAM,
    });
    assert.equal(badSecret.status, 401);
    assert.equal(badSecret.body['error'], 'invalid_client');
  });

  test('the exchanging client cannot use client_credentials', TIMEOUT, async () => {
    await assert.rejects(provider.token({ resource: GATEWAY, clientId: 'exchanger' }), /400/);
  });
});

describe('authorization code flow with PKCE, resource indicators and refresh tokens', () => {
  const client = {
    clientId: 'gatehouse-web',
    clientSecret: 'gatehouse-web-secret-0123456789abcdef0123',
    scope: 'openid mcp mcp:read',
  };
  let provider: OidcProviderFixture;
  let redirectUri: string;

  before(async () => {
    provider = await startOidcProvider({ accessTokenTtlSec: 120 });
    // The redirect URI names the client's port, known only once it listens; nothing needs to listen here.
    redirectUri = 'http://127.0.0.1:45123/oauth/callback';
    await provider.addAuthorizationCodeClient({ ...client, redirectUris: [redirectUri] });
  });
  after(() => provider.close());

  function pkce(): { verifier: string; challenge: string } {
    const verifier = randomBytes(32).toString('base64url');
    return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
  }

  function authorizationUrl(challenge: string, state: string, scope = 'mcp mcp:read'): string {
    const url = new URL(`${provider.issuer}/auth`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.clientId,
      redirect_uri: redirectUri,
      scope,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      resource: GATEWAY,
    }).toString();
    return url.href;
  }

  async function signIn(login: string, scope?: string): Promise<{ code: string; verifier: string }> {
    const { verifier, challenge } = pkce();
    const state = randomBytes(8).toString('hex');
    const redirect = new URL(await provider.signInAndConsent(authorizationUrl(challenge, state, scope), login));
    assert.equal(`${redirect.origin}${redirect.pathname}`, redirectUri);
    assert.equal(redirect.searchParams.get('state'), state);
    const code = redirect.searchParams.get('code');
    assert.ok(code);
    return { code, verifier };
  }

  function redeem(code: string, verifier: string): Promise<TokenResponse> {
    return tokenRequest(provider, client, {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: redirectUri,
      resource: GATEWAY,
    });
  }

  test('signs in, consents, redeems the code for a user JWT and a refresh token, and refreshes', TIMEOUT, async () => {
    const { code, verifier } = await signIn('alice');
    const { status, body } = await redeem(code, verifier);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body['token_type'], 'Bearer');
    assert.equal(typeof body['refresh_token'], 'string');
    const { payload } = await verify(provider, body['access_token'] as string, GATEWAY);
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.aud, GATEWAY);
    assert.equal(payload['client_id'], client.clientId);
    assert.equal(payload['email'], 'alice@example.com');
    assert.equal(payload['scope'], 'mcp mcp:read');
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 120, 'accessTokenTtlSec sets the lifetime');

    const refreshed = await tokenRequest(provider, client, { grant_type: 'refresh_token', refresh_token: body['refresh_token'] as string });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    const next = await verify(provider, refreshed.body['access_token'] as string, GATEWAY);
    assert.equal(next.payload.sub, 'alice');
    assert.notEqual(next.payload.jti, payload.jti);
    // Rotation (the default): a new refresh token, and the old one no longer works.
    assert.equal(typeof refreshed.body['refresh_token'], 'string');
    assert.notEqual(refreshed.body['refresh_token'], body['refresh_token']);

    // The user's token is a subject token for the exchange, carrying the user over.
    const exchanged = await exchange(provider, body['access_token'] as string, { resource: UPSTREAM });
    assert.equal(exchanged.status, 200, JSON.stringify(exchanged.body));
    const upstream = await verify(provider, exchanged.body['access_token'] as string, UPSTREAM);
    assert.equal(upstream.payload.sub, 'alice');
    assert.equal(upstream.payload['email'], 'alice@example.com');
    assert.deepEqual(upstream.payload['act'], { sub: 'exchanger' });

    // Replaying the rotated-out refresh token is refused, and (reuse detection) revokes the grant,
    // so the new refresh token stops working too.
    const replayed = await tokenRequest(provider, client, { grant_type: 'refresh_token', refresh_token: body['refresh_token'] as string });
    assert.equal(replayed.status, 400);
    assert.equal(replayed.body['error'], 'invalid_grant');
    const afterReplay = await tokenRequest(provider, client, { grant_type: 'refresh_token', refresh_token: refreshed.body['refresh_token'] as string });
    assert.equal(afterReplay.status, 400);
    assert.equal(afterReplay.body['error'], 'invalid_grant');
  });

  test('a code is good once: redeeming it again is refused and revokes what it gave', TIMEOUT, async () => {
    const { code, verifier } = await signIn('frank');
    const first = await redeem(code, verifier);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const again = await redeem(code, verifier);
    assert.equal(again.status, 400);
    assert.equal(again.body['error'], 'invalid_grant');
    const refreshed = await tokenRequest(provider, client, { grant_type: 'refresh_token', refresh_token: first.body['refresh_token'] as string });
    assert.equal(refreshed.status, 400);
    assert.equal(refreshed.body['error'], 'invalid_grant');
  });

  test('with rotation off, the refresh token stays the same and keeps working', TIMEOUT, async () => {
    const steady = await startOidcProvider({ rotateRefreshTokens: false });
    try {
      await steady.addAuthorizationCodeClient({ ...client, redirectUris: [redirectUri] });
      const { verifier, challenge } = pkce();
      const url = new URL(authorizationUrl(challenge, 'state-3'));
      url.host = new URL(steady.issuer).host;
      const code = new URL(await steady.signInAndConsent(url.href, 'grace')).searchParams.get('code');
      assert.ok(code);
      const first = await tokenRequest(steady, client, {
        grant_type: 'authorization_code',
        code,
        code_verifier: verifier,
        redirect_uri: redirectUri,
        resource: GATEWAY,
      });
      assert.equal(first.status, 200, JSON.stringify(first.body));
      for (let round = 0; round < 2; round += 1) {
        const refreshed = await tokenRequest(steady, client, { grant_type: 'refresh_token', refresh_token: first.body['refresh_token'] as string });
        assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
        assert.equal(refreshed.body['refresh_token'], first.body['refresh_token']);
        const { payload } = await verify(steady, refreshed.body['access_token'] as string, GATEWAY);
        assert.equal(payload.sub, 'grace');
      }
    } finally {
      await steady.close();
    }
  });

  test('an openid scope works too, and ends in the same kind of access token', TIMEOUT, async () => {
    const { code, verifier } = await signIn('bob', 'openid mcp');
    const { status, body } = await redeem(code, verifier);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(typeof body['id_token'], 'string');
    const { payload } = await verify(provider, body['access_token'] as string, GATEWAY);
    assert.equal(payload.sub, 'bob');
  });

  test('a wrong code_verifier is refused', TIMEOUT, async () => {
    const { code } = await signIn('carol');
    const { status, body } = await redeem(code, pkce().verifier);
    assert.equal(status, 400, JSON.stringify(body));
    assert.equal(body['error'], 'invalid_grant');
  });

  test('an authorization request without PKCE ends in an error, which signInAndConsent reports', TIMEOUT, async () => {
    const url = new URL(authorizationUrl('unused', 'state-1'));
    url.searchParams.delete('code_challenge');
    url.searchParams.delete('code_challenge_method');
    await assert.rejects(provider.signInAndConsent(url.href, 'dave'), /invalid_request/);
  });

  test('an unregistered redirect_uri gets an error page, which signInAndConsent reports', TIMEOUT, async () => {
    const url = new URL(authorizationUrl(pkce().challenge, 'state-2'));
    url.searchParams.set('redirect_uri', 'http://127.0.0.1:9/elsewhere');
    await assert.rejects(provider.signInAndConsent(url.href, 'erin'), /answered 400/);
  });
});
