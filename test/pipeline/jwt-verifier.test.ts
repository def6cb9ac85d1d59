// JWT access-token verification as an OAuth 2.1 resource server (MCP authorization 2025-11-25,
// RFC 9068, RFC 8707, RFC 8725), against a real OpenID Connect provider on loopback and, for tokens
// no provider would issue (expired, unsigned, without exp...), a small key server of our own.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { SignJWT, UnsecuredJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import type { JWK, JWTPayload } from 'jose';
import { validateConfig } from '../../src/config/index.js';
import { GatehouseError } from '../../src/core/index.js';
import { createJwtVerifier, looksLikeJwt, metadataUrls } from '../../src/pipeline/authn/index.js';
import type { IssuerOptions, JwtVerifierOptions } from '../../src/pipeline/authn/index.js';
import { startOidcProvider } from '../fixtures/oidc-provider.js';
import { assertRefused } from './assert-refused.js';
import type { OidcProviderFixture } from '../fixtures/oidc-provider.js';

const RESOURCE = 'https://gateway.test/mcp';
const OTHER_RESOURCE = 'https://other-api.test';
/** Loaded 2-core CI: metadata and JWKS fetches get plenty of time. */
const FETCH_TIMEOUT_MS = 20_000;

/** The issuer block as the config schema's defaults make it. */
function issuerOptions(issuer: string, overrides: Partial<IssuerOptions> = {}): IssuerOptions {
  return {
    issuer,
    audiences: [],
    algorithms: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    clockToleranceSec: 30,
    claims: { user: 'sub', name: 'email', groups: 'groups', team: 'team', roles: 'roles' },
    requiredScopes: [],
    ...overrides,
  };
}

function verifierFor(issuers: readonly IssuerOptions[], options: Partial<JwtVerifierOptions> = {}) {
  return createJwtVerifier({ issuers, defaultAudiences: [RESOURCE], fetchTimeoutMs: FETCH_TIMEOUT_MS, ...options });
}

const nowSec = (): number => Math.floor(Date.now() / 1000);

/** Encodes a JWT part (header or payload) the way a tamperer would. */
function encodePart(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

interface KeyServer {
  readonly issuer: string;
  sign(payload: JWTPayload, options?: { readonly kid?: string }): Promise<string>;
  /** Standard claims for a token this server's issuer would mint now. */
  claims(overrides?: JWTPayload): JWTPayload;
  requestCount(path: string): number;
  close(): Promise<void>;
}

/**
 * A minimal authorization server of our own: RFC 8414 metadata only (no OIDC discovery document,
 * so the verifier must fall back) and a JWKS with one ES256 key, whose private half the test holds.
 */
async function startKeyServer(options: { readonly claimedIssuer?: string; readonly metadataFailures?: number } = {}): Promise<KeyServer> {
  let metadataFailures = options.metadataFailures ?? 0;
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'static-1', alg: 'ES256', use: 'sig' };
  const counts = new Map<string, number>();
  let issuer = '';
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/.well-known/oauth-authorization-server' && metadataFailures > 0) {
      metadataFailures -= 1;
      json(503, { error: 'temporarily_unavailable' });
    } else if (path === '/.well-known/oauth-authorization-server') json(200, { issuer: options.claimedIssuer ?? issuer, jwks_uri: `${issuer}/keys` });
    else if (path === '/keys') json(200, { keys: [jwk] });
    else json(404, { error: 'not_found' });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    sign: (payload, signOptions = {}) =>
      new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: signOptions.kid ?? 'static-1' }).sign(privateKey),
    claims: (overrides = {}) => ({ iss: issuer, aud: RESOURCE, sub: 'user-1', iat: nowSec(), exp: nowSec() + 300, ...overrides }),
    requestCount: (path) => counts.get(path) ?? 0,
    async close() {
      if (!server.listening) return;
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

/** A loopback port nothing listens on: connecting to it is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

describe('JWT access-token verification', { timeout: 120_000 }, () => {
  let provider: OidcProviderFixture;
  let keys: KeyServer;

  before(async () => {
    provider = await startOidcProvider();
    keys = await startKeyServer();
  });
  after(async () => {
    await provider?.close();
    await keys?.close();
  });

  describe('tokens from a real OpenID Connect provider', () => {
    test('accepts an RS256 access token issued for the gateway and maps its claims to an Identity', async () => {
      const verifier = verifierFor([issuerOptions(provider.issuer)]);
      const token = await provider.token({ resource: RESOURCE, scope: 'mcp:read mcp:write' });

      const identity = await verifier.verify(token);

      const { exp } = decodeJwt(token);
      assert.deepEqual(identity, {
        kind: 'jwt',
        subject: 'agent',
        name: 'agent@example.com',
        issuer: provider.issuer,
        groups: ['platform'],
        team: 'payments',
        roles: ['developer', 'reader'],
        scopes: ['mcp:read', 'mcp:write'],
        expiresAt: (exp ?? 0) * 1000,
      });
      assert.equal(decodeProtectedHeader(token).typ, 'at+jwt', 'the provider issued an RFC 9068 JWT access token');
    });

    test('accepts an ES256 token and reads a single-string roles claim as one role', async () => {
      const verifier = verifierFor([issuerOptions(provider.issuer)]);
      const token = await provider.token({ resource: RESOURCE, scope: 'mcp', clientId: 'agent-es' });
      assert.equal(decodeProtectedHeader(token).alg, 'ES256');

      const identity = await verifier.verify(token);

      assert.equal(identity.subject, 'agent-es');
      assert.deepEqual(identity.roles, ['operator']);
      assert.deepEqual(identity.groups, []);
      assert.equal(identity.team, undefined);
      assert.deepEqual(identity.scopes, ['mcp']);
    });

    test('discovers the JWKS once and verifies later tokens from the cached key set', async () => {
      const verifier = verifierFor([issuerOptions(provider.issuer)]);
      const discoveryBefore = provider.requestCount('/.well-known/openid-configuration');
      const jwksBefore = provider.requestCount('/jwks');

      for (let i = 0; i < 3; i += 1) await verifier.verify(await provider.token({ resource: RESOURCE, scope: 'mcp' }));

      assert.equal(provider.requestCount('/.well-known/openid-configuration') - discoveryBefore, 1);
      assert.equal(provider.requestCount('/jwks') - jwksBefore, 1);
    });

    test('takes the issuer list straight from the parsed config', async () => {
      const config = validateConfig({ auth: { issuers: [{ issuer: provider.issuer, requiredScopes: ['mcp'] }] } });
      const verifier = createJwtVerifier({ issuers: config.auth.issuers, defaultAudiences: [RESOURCE], fetchTimeoutMs: FETCH_TIMEOUT_MS });

      const identity = await verifier.verify(await provider.token({ resource: RESOURCE, scope: 'mcp mcp:read' }));

      assert.equal(identity.subject, 'agent');
    });

    test('refuses a token issued for another resource (wrong audience)', async () => {
      const verifier = verifierFor([issuerOptions(provider.issuer)]);
      const token = await provider.token({ resource: OTHER_RESOURCE, scope: 'mcp' });

      await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'wrong_audience', mentions: /audience/ });
    });

    test('accepts a token for any of the issuer\'s configured audiences instead of the default ones', async () => {
      const verifier = verifierFor([issuerOptions(provider.issuer, { audiences: [OTHER_RESOURCE] })]);
      const other = await provider.token({ resource: OTHER_RESOURCE, scope: 'mcp' });
      const ours = await provider.token({ resource: RESOURCE, scope: 'mcp' });

      assert.equal((await verifier.verify(other)).subject, 'agent');
      await assertRefused(verifier.verify(ours), ours, { code: 'unauthorized', failure: 'wrong_audience' });
    });

    test('checks the audiences given for one call instead of the defaults (one resource per endpoint)', async () => {
      const verifier = verifierFor([issuerOptions(provider.issuer)]);
      const virtualServer = 'https://gateway.test/servers/github/mcp';
      const forVirtual = await provider.token({ resource: virtualServer, scope: 'mcp' });
      const forRoot = await provider.token({ resource: RESOURCE, scope: 'mcp' });

      assert.equal((await verifier.verify(forVirtual, { audiences: [virtualServer] })).subject, 'agent');
      await assertRefused(verifier.verify(forRoot, { audiences: [virtualServer] }), forRoot, { code: 'unauthorized', failure: 'wrong_audience' });
      await assertRefused(verifier.verify(forVirtual), forVirtual, { code: 'unauthorized', failure: 'wrong_audience' });
    });

    test('keeps an issuer\'s own audiences even when a call names others', async () => {
      const verifier = verifierFor([issuerOptions(provider.issuer, { audiences: [RESOURCE] })]);
      const token = await provider.token({ resource: RESOURCE, scope: 'mcp' });

      assert.equal((await verifier.verify(token, { audiences: ['https://gateway.test/servers/github/mcp'] })).subject, 'agent');
    });

    test('refuses a token that lacks a required scope with insufficient_scope and names the scopes', async () => {
      const verifier = verifierFor([issuerOptions(provider.issuer, { requiredScopes: ['mcp', 'mcp:write'] })]);
      const token = await provider.token({ resource: RESOURCE, scope: 'mcp mcp:read' });

      const error = await assertRefused(verifier.verify(token), token, { code: 'insufficient_scope', mentions: /mcp:write/ });

      assert.equal(error.httpStatus, 403);
      assert.deepEqual(error.data, { requiredScopes: ['mcp', 'mcp:write'] });
    });

    test('refuses a token from an issuer it does not know, without contacting that issuer', async () => {
      const stranger = await startOidcProvider();
      try {
        const verifier = verifierFor([issuerOptions(provider.issuer)]);
        const token = await stranger.token({ resource: RESOURCE, scope: 'mcp' });

        await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'unknown_issuer', mentions: /issuer/ });
        assert.equal(verifier.knowsIssuerOf(token), false);
        assert.equal(stranger.requestCount('/jwks'), 0);
        assert.equal(stranger.requestCount('/.well-known/openid-configuration'), 0);
      } finally {
        await stranger.close();
      }
    });

    test('refuses a token whose payload was changed after signing', async () => {
      const verifier = verifierFor([issuerOptions(provider.issuer)]);
      const genuine = await provider.token({ resource: RESOURCE, scope: 'mcp:read' });
      const [header, payload, signature] = genuine.split('.');
      const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as JWTPayload;
      const token = [header, encodePart({ ...claims, scope: 'mcp:read mcp:write', roles: ['admin'] }), signature].join('.');

      await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'bad_signature', mentions: /signature/ });
    });

    test('refuses a token signed by a key the provider does not publish, under the provider\'s kid (forged)', async () => {
      const verifier = verifierFor([issuerOptions(provider.issuer)]);
      const genuine = decodeJwt(await provider.token({ resource: RESOURCE, scope: 'mcp' }));
      const token = await provider.forgeToken({ ...genuine, roles: ['admin'] });

      await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'bad_signature' });
    });

    test('refuses a forged token with an unknown kid, and does not refetch the JWKS within the cooldown', async () => {
      const verifier = verifierFor([issuerOptions(provider.issuer)]);
      await verifier.verify(await provider.token({ resource: RESOURCE, scope: 'mcp' }));
      const jwksBefore = provider.requestCount('/jwks');
      const claims = { iss: provider.issuer, aud: RESOURCE, sub: 'mallory', exp: nowSec() + 300 };

      for (let i = 0; i < 5; i += 1) {
        const token = await provider.forgeToken(claims, { kid: `made-up-${i}` });
        await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'unknown_key', mentions: /does not publish/ });
      }

      assert.equal(provider.requestCount('/jwks'), jwksBefore, 'forged kids must not make the gateway hammer the identity provider');
    });

    test('refuses an unsigned token (alg "none")', async () => {
      const verifier = verifierFor([issuerOptions(provider.issuer)]);
      const token = new UnsecuredJWT({ sub: 'mallory', scope: 'mcp' }).setIssuer(provider.issuer).setAudience(RESOURCE).setExpirationTime('5m').encode();
      assert.ok(looksLikeJwt(token), 'an unsigned token still goes to the JWT verifier');

      await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'algorithm_not_allowed', mentions: /algorithm/ });
    });

    test('refuses an HS256 token keyed with the provider\'s RSA public key (algorithm confusion)', async () => {
      const verifier = verifierFor([issuerOptions(provider.issuer)]);
      const jwks = (await (await fetch(provider.jwksUri)).json()) as { keys: Array<JWK & { kid?: string }> };
      const rsa = jwks.keys.find((key) => key.kid === provider.currentRsaKid);
      assert.ok(rsa, 'the provider publishes its RSA key');
      const pem = createPublicKey({ key: rsa, format: 'jwk' })
        .export({ type: 'spki', format: 'pem' })
        .toString();
      const token = await new SignJWT({ sub: 'mallory', scope: 'mcp', roles: ['admin'] })
        .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: provider.currentRsaKid })
        .setIssuer(provider.issuer)
        .setAudience(RESOURCE)
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(pem));

      await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'algorithm_not_allowed' });
    });

    test('refuses an algorithm the issuer is not configured for, even when the signature is good', async () => {
      const verifier = verifierFor([issuerOptions(provider.issuer, { algorithms: ['RS256'] })]);
      const token = await provider.token({ resource: RESOURCE, scope: 'mcp', clientId: 'agent-es' });

      await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'algorithm_not_allowed' });
    });

    test('accepts a token signed with a key added by rotation: the JWKS is fetched again for the new kid', async () => {
      const verifier = verifierFor([issuerOptions(provider.issuer)], { jwksCooldownMs: 0 });
      const before = await provider.token({ resource: RESOURCE, scope: 'mcp' });
      await verifier.verify(before);
      const jwksBefore = provider.requestCount('/jwks');

      const kid = await provider.rotateSigningKey();
      const after = await provider.token({ resource: RESOURCE, scope: 'mcp' });
      assert.equal(decodeProtectedHeader(after).kid, kid, 'the provider signs with the new key');

      assert.equal((await verifier.verify(after)).subject, 'agent');
      assert.equal(provider.requestCount('/jwks') - jwksBefore, 1, 'one refetch for the unknown kid');
      assert.equal((await verifier.verify(before)).subject, 'agent', 'tokens signed with the old key stay valid while it is published');
      assert.equal(provider.requestCount('/jwks') - jwksBefore, 1, 'the refreshed key set is cached');
    });
  });

  describe('claims no provider would issue (our own key server)', () => {
    test('falls back to RFC 8414 metadata when there is no OpenID discovery document, and fetches it once', async () => {
      const verifier = verifierFor([issuerOptions(keys.issuer)]);
      const metadataBefore = keys.requestCount('/.well-known/oauth-authorization-server');

      await verifier.verify(await keys.sign(keys.claims()));
      await verifier.verify(await keys.sign(keys.claims()));

      assert.equal(keys.requestCount('/.well-known/oauth-authorization-server') - metadataBefore, 1);
      assert.ok(keys.requestCount('/.well-known/openid-configuration') >= 1, 'OpenID discovery is tried first');
    });

    test('uses a configured jwksUri without discovery', async () => {
      const verifier = verifierFor([issuerOptions(keys.issuer, { jwksUri: `${keys.issuer}/keys` })]);
      const discoveryBefore = keys.requestCount('/.well-known/openid-configuration');

      assert.equal((await verifier.verify(await keys.sign(keys.claims()))).subject, 'user-1');
      assert.equal(keys.requestCount('/.well-known/openid-configuration'), discoveryBefore);
    });

    test('refuses an expired token', async () => {
      const verifier = verifierFor([issuerOptions(keys.issuer)]);
      const token = await keys.sign(keys.claims({ iat: nowSec() - 3600, exp: nowSec() - 600 }));

      await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'expired', mentions: /expired/ });
    });

    test('refuses a token that is not valid yet (nbf in the future)', async () => {
      const verifier = verifierFor([issuerOptions(keys.issuer)]);
      const token = await keys.sign(keys.claims({ nbf: nowSec() + 600 }));

      await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'not_yet_valid', mentions: /nbf/ });
    });

    test('refuses a token without exp', async () => {
      const verifier = verifierFor([issuerOptions(keys.issuer)]);
      const claims = keys.claims();
      delete claims.exp;
      const token = await keys.sign(claims);

      await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'invalid_claims', mentions: /exp/ });
    });

    test('accepts clock skew within the tolerance on exp and nbf, and refuses it beyond', async () => {
      const verifier = verifierFor([issuerOptions(keys.issuer, { clockToleranceSec: 30 })]);
      const justExpired = await keys.sign(keys.claims({ exp: nowSec() - 10 }));
      const almostValid = await keys.sign(keys.claims({ nbf: nowSec() + 10, iat: nowSec() + 10 }));
      const tooLate = await keys.sign(keys.claims({ exp: nowSec() - 120 }));

      assert.equal((await verifier.verify(justExpired)).subject, 'user-1');
      assert.equal((await verifier.verify(almostValid)).subject, 'user-1');
      await assertRefused(verifier.verify(tooLate), tooLate, { code: 'unauthorized', failure: 'expired' });
    });

    test('refuses a token that claims the provider as issuer but is signed with another server\'s key (issuer mix-up)', async () => {
      const verifier = verifierFor([issuerOptions(provider.issuer), issuerOptions(keys.issuer)]);
      const underOurKid = await keys.sign(keys.claims({ iss: provider.issuer }));
      const underProviderKid = await keys.sign(keys.claims({ iss: provider.issuer }), { kid: provider.currentRsaKid });

      await assertRefused(verifier.verify(underOurKid), underOurKid, { code: 'unauthorized', failure: 'unknown_key' });
      // The provider's kid names an RSA key; an ES256 signature cannot be checked with it.
      await assertRefused(verifier.verify(underProviderKid), underProviderKid, { code: 'unauthorized', failure: 'unknown_key' });
    });

    test('refuses every token of an issuer whose metadata names another issuer', async () => {
      const impostor = await startKeyServer({ claimedIssuer: 'https://login.example.com' });
      try {
        const verifier = verifierFor([issuerOptions(impostor.issuer)]);
        const token = await impostor.sign(impostor.claims());

        await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'keys_unavailable', mentions: /another issuer/ });
        assert.equal(impostor.requestCount('/keys'), 0, 'the keys of a mismatched issuer are never fetched');
      } finally {
        await impostor.close();
      }
    });

    test('refuses a token whose issuer cannot be reached', async () => {
      const issuer = `http://127.0.0.1:${await closedPort()}`;
      const verifier = verifierFor([issuerOptions(issuer)]);
      const token = await keys.sign(keys.claims({ iss: issuer }));

      await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'keys_unavailable', mentions: /could not be fetched/ });
    });

    test('does not remember a failed discovery: the next token tries again', async () => {
      const flaky = await startKeyServer({ metadataFailures: 1 });
      try {
        const verifier = verifierFor([issuerOptions(flaky.issuer)]);
        const token = await flaky.sign(flaky.claims());

        await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'keys_unavailable' });
        assert.equal((await verifier.verify(token)).subject, 'user-1');
      } finally {
        await flaky.close();
      }
    });

    test('refuses a token whose JWKS cannot be fetched', async () => {
      const verifier = verifierFor([issuerOptions(keys.issuer, { jwksUri: `http://127.0.0.1:${await closedPort()}/keys` })]);
      const token = await keys.sign(keys.claims());

      await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'keys_unavailable' });
    });

    test('maps claims by dot path (Keycloak-style roles) and reads scopes from an scp array', async () => {
      const verifier = verifierFor([
        issuerOptions(keys.issuer, {
          claims: { user: 'preferred_username', name: 'name', groups: 'groups', team: 'org.team', roles: 'realm_access.roles' },
        }),
      ]);
      const token = await keys.sign(
        keys.claims({
          preferred_username: 'ada',
          name: 'Ada Lovelace',
          groups: ['eng', 42, 'ops'],
          org: { team: 'analytics' },
          realm_access: { roles: ['admin', 'dev'] },
          scp: ['mcp:read', 'mcp:write'],
          scope: 'mcp',
        }),
      );

      const identity = await verifier.verify(token);

      assert.equal(identity.subject, 'ada');
      assert.equal(identity.name, 'Ada Lovelace');
      assert.deepEqual(identity.groups, ['eng', 'ops']);
      assert.equal(identity.team, 'analytics');
      assert.deepEqual(identity.roles, ['admin', 'dev']);
      assert.deepEqual([...identity.scopes].sort(), ['mcp', 'mcp:read', 'mcp:write']);
    });

    test('refuses a token without the user claim', async () => {
      const verifier = verifierFor([issuerOptions(keys.issuer)]);
      const claims = keys.claims();
      delete claims.sub;
      const token = await keys.sign(claims);

      await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'no_subject', mentions: /"sub"/ });
    });

    test('refuses what is not a JWT at all', async () => {
      const verifier = verifierFor([issuerOptions(keys.issuer)]);
      for (const token of ['gh_0123456789abcdefghijklmnopqrstuvwxyz', 'a.b', 'eyJhbGciOiJFUzI1NiJ9.not-json!.sig', '']) {
        await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'malformed' });
      }
    });
  });

  describe('shape and configuration', () => {
    test('tells JWTs from API keys and other bearer strings', async () => {
      assert.equal(looksLikeJwt(await provider.token({ resource: RESOURCE, scope: 'mcp' })), true);
      assert.equal(looksLikeJwt('gh_0123456789abcdefghijklmnopqrstuvwxyz'), false);
      assert.equal(looksLikeJwt('opaque-token-value'), false);
      assert.equal(looksLikeJwt('a.b.c'), false, 'three parts whose header is not JSON');
      assert.equal(looksLikeJwt(`${encodePart({ alg: 'RS256' })}.${encodePart({ sub: 'x' })}.sig=`), false, 'padding is not base64url');
    });

    test('refuses to be configured with a symmetric or "none" algorithm', () => {
      for (const alg of ['HS256', 'none']) {
        assert.throws(
          () => verifierFor([issuerOptions('https://login.example.com', { algorithms: ['RS256', alg] })]),
          (error: unknown) => error instanceof GatehouseError && error.code === 'config_invalid',
        );
      }
    });

    test('refuses to be configured without any audience to check', () => {
      assert.throws(
        () => createJwtVerifier({ issuers: [issuerOptions('https://login.example.com')], defaultAudiences: [] }),
        (error: unknown) => error instanceof GatehouseError && error.code === 'config_invalid' && /audience/.test(error.message),
      );
    });

    test('looks for metadata where OIDC Discovery, RFC 8414 and the MCP spec say it is', () => {
      assert.deepEqual(metadataUrls('https://login.example.com'), [
        'https://login.example.com/.well-known/openid-configuration',
        'https://login.example.com/.well-known/oauth-authorization-server',
      ]);
      assert.deepEqual(metadataUrls('https://login.example.com/realms/acme'), [
        'https://login.example.com/realms/acme/.well-known/openid-configuration',
        'https://login.example.com/.well-known/oauth-authorization-server/realms/acme',
        'https://login.example.com/.well-known/openid-configuration/realms/acme',
      ]);
    });
  });
});
