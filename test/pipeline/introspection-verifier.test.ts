// Opaque access tokens checked by RFC 7662 token introspection against a real OpenID Connect
// provider on loopback: active, revoked, wrong audience, unreachable, cached.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { GatehouseError } from '../../src/core/index.js';
import { createIntrospectionVerifier, looksLikeJwt } from '../../src/pipeline/authn/index.js';
import type { IntrospectionVerifierOptions } from '../../src/pipeline/authn/index.js';
import { startOidcProvider } from '../fixtures/oidc-provider.js';
import type { OidcProviderFixture } from '../fixtures/oidc-provider.js';
import { assertRefused } from './assert-refused.js';

const RESOURCE = 'https://gateway.test/mcp';
const OTHER_RESOURCE = 'https://other-api.test';
const INTROSPECTION = '/token/introspection';

describe('opaque-token verification by introspection', { timeout: 120_000 }, () => {
  let provider: OidcProviderFixture;

  before(async () => {
    provider = await startOidcProvider({ opaqueResources: [RESOURCE, OTHER_RESOURCE] });
  });
  after(async () => {
    await provider?.close();
  });

  function verifierFor(overrides: Partial<IntrospectionVerifierOptions> = {}) {
    return createIntrospectionVerifier({
      endpoint: provider.introspectionEndpoint,
      ...provider.introspectionClient,
      audiences: [RESOURCE],
      issuer: provider.issuer,
      fetchTimeoutMs: 20_000,
      ...overrides,
    });
  }

  test('accepts an active token issued for the gateway and maps its claims', async () => {
    const verifier = verifierFor();
    const token = await provider.token({ resource: RESOURCE, scope: 'mcp mcp:read' });
    assert.equal(looksLikeJwt(token), false, 'the provider issued an opaque token');

    const identity = await verifier.verify(token);

    assert.equal(identity.kind, 'jwt');
    assert.equal(identity.subject, 'agent', 'a client_credentials token names its client');
    assert.equal(identity.issuer, provider.issuer);
    assert.equal(identity.name, 'agent@example.com');
    assert.deepEqual(identity.roles, ['developer', 'reader']);
    assert.deepEqual(identity.scopes, ['mcp', 'mcp:read']);
    assert.ok(identity.expiresAt !== undefined && identity.expiresAt > Date.now());
  });

  test('asks once and reuses the answer while it is cached', async () => {
    const verifier = verifierFor();
    const token = await provider.token({ resource: RESOURCE, scope: 'mcp' });
    const before = provider.requestCount(INTROSPECTION);

    await verifier.verify(token);
    await verifier.verify(token);

    assert.equal(provider.requestCount(INTROSPECTION) - before, 1);
  });

  test('refuses a revoked token when answers are not cached', async () => {
    const verifier = verifierFor({ cacheTtlMs: 0 });
    const token = await provider.token({ resource: RESOURCE, scope: 'mcp' });
    await verifier.verify(token);

    await provider.revoke(token);

    await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'inactive', mentions: /not active/ });
  });

  test('refuses a token the server does not know', async () => {
    const token = 'not-a-token-the-provider-issued-0123456789';
    await assertRefused(verifierFor().verify(token), token, { code: 'unauthorized', failure: 'inactive' });
  });

  test('refuses an active token issued for another resource', async () => {
    const token = await provider.token({ resource: OTHER_RESOURCE, scope: 'mcp' });
    await assertRefused(verifierFor().verify(token), token, { code: 'unauthorized', failure: 'wrong_audience' });
  });

  test('refuses an answer from another issuer than the one configured', async () => {
    const token = await provider.token({ resource: RESOURCE, scope: 'mcp' });
    await assertRefused(verifierFor({ issuer: 'https://login.example.com' }).verify(token), token, { code: 'unauthorized', failure: 'wrong_issuer' });
  });

  test('refuses a token without a required scope with insufficient_scope', async () => {
    const token = await provider.token({ resource: RESOURCE, scope: 'mcp' });
    const error = await assertRefused(verifierFor({ requiredScopes: ['mcp:write'] }).verify(token), token, { code: 'insufficient_scope' });
    assert.deepEqual(error.data, { requiredScopes: ['mcp:write'] });
  });

  test('refuses when the gateway cannot authenticate to the introspection endpoint', async () => {
    const token = await provider.token({ resource: RESOURCE, scope: 'mcp' });
    const verifier = verifierFor({ clientSecret: 'wrong-secret-wrong-secret-wrong-secret' });
    await assertRefused(verifier.verify(token), token, { code: 'unauthorized', failure: 'introspection_unavailable' });
  });

  test('refuses when the introspection endpoint cannot be reached', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    server.close();
    await once(server, 'close');
    const token = await provider.token({ resource: RESOURCE, scope: 'mcp' });

    await assertRefused(verifierFor({ endpoint: `http://127.0.0.1:${port}/introspect` }).verify(token), token, {
      code: 'unauthorized',
      failure: 'introspection_unavailable',
    });
  });

  test('refuses to be configured without an audience', () => {
    assert.throws(
      () => verifierFor({ audiences: [] }),
      (error: unknown) => error instanceof GatehouseError && error.code === 'config_invalid',
    );
  });
});
