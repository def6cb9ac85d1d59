import { apiKeyState, parseDuration, type ApiKey, type ApiKeyExpiry } from '../registry/index.js';
import { defineRoute, type AdminRoute } from './route.js';
import { createKeyBodySchema, issuedKeySchema, keyListSchema, rotateKeyBodySchema, rotatedKeySchema, type KeyItem } from './schemas.js';

/**
 * API keys for agents and scripts. A token appears in exactly one answer, the one that made it
 * (create or rotate); lists and the event log show ids, names and times, never a token or a hash.
 */

const TAG = 'keys';

function keyItem(key: ApiKey, nowMs: number): KeyItem {
  return {
    id: key.id,
    name: key.name,
    roles: [...key.roles],
    endpoints: key.endpoints === null ? null : [...key.endpoints],
    state: apiKeyState(key, nowMs),
    createdAt: key.createdAt,
    expiresAt: key.expiresAt,
    revokedAt: key.revokedAt,
    rotatedFrom: key.rotatedFrom,
    lastUsedAt: key.lastUsedAt,
    createdBy: key.createdBy,
  };
}

/** The body's `expires` (already validated as a duration, an ISO time or an ISO date) as the registry takes it. */
function expiryOf(expires: string | undefined): ApiKeyExpiry {
  if (expires === undefined) return {};
  const durationMs = parseDuration(expires);
  return durationMs !== undefined ? { expiresInMs: durationMs } : { expiresAt: expires };
}

export const keyRoutes: readonly AdminRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/keys',
    operationId: 'listKeys',
    summary: 'List API keys',
    description: 'Ids, names, roles, endpoints, state and times; never a token or a hash.',
    tag: TAG,
    success: { status: 200, description: 'Every key, oldest first.', schema: keyListSchema },
    handle: async ({ deps }) => {
      const now = Date.now();
      return { status: 200, body: { items: (await deps.registry.listApiKeys()).map((key) => keyItem(key, now)) } };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/keys',
    operationId: 'createKey',
    summary: 'Create an API key',
    description:
      'The answer carries the token, once: Gatehouse keeps only a hash of its secret. Tokens start with "ghk_", ' +
      'so secret scanners can find one that leaked.',
    tag: TAG,
    body: createKeyBodySchema,
    success: { status: 201, description: 'The key and its token.', schema: issuedKeySchema },
    errors: ['server_not_found'],
    handle: async ({ body, deps, actor }) => {
      const { expires, ...grant } = body;
      const issued = await deps.registry.createApiKey({ ...grant, ...expiryOf(expires), actor });
      return { status: 201, body: { ...keyItem(issued.record, Date.now()), token: issued.token } };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/keys/{id}/rotate',
    operationId: 'rotateKey',
    summary: 'Rotate an API key',
    description:
      'Makes a new key with the same name, roles and endpoints. The old key keeps working for the overlap (24 h by default; ' +
      'never longer than it would have anyway), so clients can switch without an outage. A revoked, expired or already ' +
      'rotated key cannot be rotated (403).',
    tag: TAG,
    body: rotateKeyBodySchema,
    success: { status: 201, description: 'The new key and its token, and the old key.', schema: rotatedKeySchema },
    errors: ['key_not_found', 'forbidden'],
    handle: async ({ params, body, deps, actor }) => {
      const overlapMs = body.overlap === undefined ? undefined : parseDuration(body.overlap);
      const rotated = await deps.registry.rotateApiKey(params.id!, { overlapMs, ...expiryOf(body.expires), actor });
      const now = Date.now();
      return { status: 201, body: { ...keyItem(rotated.record, now), token: rotated.token, previous: keyItem(rotated.previous, now) } };
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/keys/{id}',
    operationId: 'revokeKey',
    summary: 'Revoke an API key',
    description:
      'The key fails from its next request on, on every gateway sharing this registry, without a restart. The record is kept ' +
      '(state "revoked") for the audit trail. Revoking a revoked key changes nothing.',
    tag: TAG,
    success: { status: 204, description: 'Revoked.' },
    errors: ['key_not_found'],
    handle: async ({ params, deps, actor }) => {
      await deps.registry.revokeApiKey(params.id!, actor);
      return { status: 204 };
    },
  }),
];
