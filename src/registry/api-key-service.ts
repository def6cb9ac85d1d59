import { GatehouseError, formatIssues, type Identity } from '../core/index.js';
import {
  MAX_KEY_LIFETIME_MS,
  apiKeyGrantSchema,
  expiryOf,
  generateApiKey,
  hashSecret,
  parseApiKey,
  publicKey,
  secretMatches,
  type ApiKey,
  type ApiKeyGrant,
  type CreateApiKeyInput,
  type IssuedApiKey,
  type RotateApiKeyInput,
  type RotatedApiKey,
} from './api-keys.js';
import type { Store } from './store.js';

/** What the key service needs of the registry it belongs to. */
export interface ApiKeyServiceDeps {
  readonly store: Store;
  readonly clock: () => Date;
  /** Runs one change at a time with the registry's other changes. */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  audit(actor: string, action: string, target: string, detail: Record<string, unknown>): Promise<void>;
  /** Whether a server or virtual server of that name exists (a key's endpoints must). */
  endpointExists(name: string): boolean;
  warn(message: string, id: string): void;
}

/**
 * API keys for agents and scripts: made, rotated with an overlap, revoked, and verified against the
 * store on every request. Part of the registry (which delegates to it), kept apart because keys
 * share nothing with the catalog but the store and the change log.
 */
export class ApiKeyService {
  /** Key id → when this replica last wrote its lastUsedAt (epoch ms), to write at most once a minute. */
  private readonly keyUseWrittenAt = new Map<string, number>();

  constructor(private readonly deps: ApiKeyServiceDeps) {}

  /** Makes a key. The token is in the answer and nowhere else: the store keeps the hash of its secret. */
  createApiKey(input: CreateApiKeyInput): Promise<IssuedApiKey> {
    return this.deps.exclusive(async () => {
      const grant = this.validGrant(input);
      const now = this.deps.clock().getTime();
      const expiresAt = expiryOf(input, now, null);
      const issued = generateApiKey();
      const record = await this.deps.store.putApiKey({
        id: issued.id,
        name: grant.name,
        secretHash: hashSecret(issued.secret),
        roles: grant.roles,
        endpoints: grant.endpoints ?? null,
        createdAt: new Date(now).toISOString(),
        expiresAt,
        revokedAt: null,
        rotatedFrom: null,
        lastUsedAt: null,
        createdBy: input.actor,
      });
      await this.deps.audit(input.actor, 'key.create', record.id, { name: record.name, roles: record.roles, endpoints: record.endpoints, expiresAt: record.expiresAt });
      return { token: issued.token, record: publicKey(record) };
    });
  }

  /**
   * Replaces a key with a new one of the same name, roles and endpoints. Both work during the
   * overlap, so a client can switch to the new token without an outage; then the old one expires.
   * The old key's expiry only ever moves earlier. The new key lives as long as the old one was made
   * to (or as `expiresInMs`/`expiresAt` say). A revoked or expired key cannot be rotated, nor one
   * rotated before (rotate its successor): chains stay linear and a lifetime is never derived from
   * an expiry a rotation shortened.
   */
  rotateApiKey(id: string, input: RotateApiKeyInput): Promise<RotatedApiKey> {
    return this.deps.exclusive(async () => {
      const { store } = this.deps;
      const old = await store.getApiKey(id);
      if (old === undefined) throw keyNotFound(id);
      const now = this.deps.clock().getTime();
      if (old.revokedAt !== null) throw new GatehouseError('forbidden', `API key ${id} is revoked and cannot be rotated; create a new key.`, { id });
      if (old.expiresAt !== null && Date.parse(old.expiresAt) <= now) {
        throw new GatehouseError('forbidden', `API key ${id} has expired and cannot be rotated; create a new key.`, { id });
      }
      const successor = (await store.listApiKeys()).find((key) => key.rotatedFrom === id);
      if (successor !== undefined) {
        throw new GatehouseError('forbidden', `API key ${id} was already rotated to ${successor.id}; rotate that key, or revoke it and create a new one.`, { id });
      }
      const overlapMs = input.overlapMs ?? DAY_MS;
      if (!Number.isSafeInteger(overlapMs) || overlapMs < 0 || overlapMs > MAX_KEY_LIFETIME_MS) {
        throw new GatehouseError('invalid_body', 'overlap: a whole number of milliseconds, 0 or more.');
      }
      const lifetime = old.expiresAt === null ? null : Date.parse(old.expiresAt) - Date.parse(old.createdAt);
      const expiresAt = expiryOf(input, now, lifetime === null ? null : new Date(now + lifetime).toISOString());
      const issued = generateApiKey();
      // The new key first: should the second write fail, the old key still works until it expired anyway.
      const record = await store.putApiKey({
        id: issued.id,
        name: old.name,
        secretHash: hashSecret(issued.secret),
        roles: old.roles,
        endpoints: old.endpoints,
        createdAt: new Date(now).toISOString(),
        expiresAt,
        revokedAt: null,
        rotatedFrom: old.id,
        lastUsedAt: null,
        createdBy: input.actor,
      });
      const previous = (await store.expireApiKey(old.id, new Date(now + overlapMs).toISOString())) ?? old;
      await this.deps.audit(input.actor, 'key.rotate', old.id, { name: old.name, newKey: record.id, previousExpiresAt: previous.expiresAt, expiresAt: record.expiresAt });
      return { token: issued.token, record: publicKey(record), previous: publicKey(previous) };
    });
  }

  /** Revokes a key; its next request fails, on every replica. Revoking a revoked key changes nothing. */
  revokeApiKey(id: string, actor: string): Promise<ApiKey> {
    return this.deps.exclusive(async () => {
      const { store } = this.deps;
      const before = await store.getApiKey(id);
      if (before === undefined) throw keyNotFound(id);
      if (before.revokedAt !== null) return publicKey(before);
      const record = (await store.revokeApiKey(id, this.deps.clock().toISOString())) ?? before;
      await this.deps.audit(actor, 'key.revoke', id, { name: record.name });
      return publicKey(record);
    });
  }

  /** Every key, revoked and expired ones too, oldest first; never a hash. */
  async listApiKeys(): Promise<ApiKey[]> {
    return (await this.deps.store.listApiKeys()).map(publicKey);
  }

  /**
   * Who a bearer token that `isApiKeyToken` recognised belongs to, or `unauthorized`. The key is read
   * from the store on every call (one primary-key read, no cache), so a revocation or rotation made on
   * any replica sharing the store applies to the very next request here, with no restart and no
   * invalidation message. An unknown id and a wrong secret fail with the same words and the same work
   * (a hash and a constant-time comparison), so a caller cannot learn which ids exist. The store being
   * down is `store_unavailable`, never a 401: the credential may be fine.
   */
  async verifyApiKey(token: string): Promise<Identity> {
    const parsed = parseApiKey(token);
    if (parsed === undefined) {
      throw new GatehouseError('unauthorized', 'The API key is malformed: a Gatehouse key is "ghk_" and 60 more letters, digits and one "_"; copy it again in full.');
    }
    const record = await this.deps.store.getApiKey(parsed.id);
    const matches = secretMatches(parsed.secret, record?.secretHash ?? UNKNOWN_KEY_HASH);
    if (record === undefined || !matches) throw new GatehouseError('unauthorized', 'The API key is not valid.');
    // Only the holder of the secret gets here, so saying why the key no longer works tells no one else anything.
    if (record.revokedAt !== null) throw new GatehouseError('unauthorized', 'The API key has been revoked; ask an administrator for a new one.');
    const now = this.deps.clock().getTime();
    const expiresAt = record.expiresAt === null ? undefined : Date.parse(record.expiresAt);
    if (expiresAt !== undefined && expiresAt <= now) {
      throw new GatehouseError('unauthorized', `The API key expired at ${record.expiresAt}; ask an administrator for a new one.`);
    }
    this.noteKeyUse(record.id, now);
    return Object.freeze({
      kind: 'api-key',
      subject: record.id,
      name: record.name,
      roles: Object.freeze([...record.roles]),
      endpoints: record.endpoints === null ? undefined : Object.freeze([...record.endpoints]),
      scopes: [],
      groups: [],
      expiresAt,
    });
  }

  /** lastUsedAt, best effort: one write per key per minute per replica, off the request's path. */
  private noteKeyUse(id: string, now: number): void {
    const last = this.keyUseWrittenAt.get(id);
    if (last !== undefined && now - last < KEY_USE_WRITE_INTERVAL_MS) return;
    this.keyUseWrittenAt.set(id, now);
    this.deps.store
      .touchApiKey(id, new Date(now).toISOString())
      .catch((error: unknown) => this.deps.warn(`cannot record when an API key was last used: ${(error as Error).message}`, id));
  }

  private validGrant(input: CreateApiKeyInput): ApiKeyGrant {
    const parsed = apiKeyGrantSchema.safeParse(
      { name: input.name, roles: input.roles, ...(input.endpoints !== undefined ? { endpoints: input.endpoints } : {}) },
      { reportInput: true },
    );
    if (!parsed.success) throw new GatehouseError('invalid_body', `\n${formatIssues(parsed.error.issues)}`);
    const grant = parsed.data;
    // A typo in a scope would make a key that reaches nothing and says nothing about why.
    for (const name of grant.endpoints ?? []) {
      if (!this.deps.endpointExists(name)) {
        throw new GatehouseError('server_not_found', `endpoints: no server or virtual server "${name}".`, { name });
      }
    }
    return { name: grant.name, roles: [...new Set(grant.roles)], ...(grant.endpoints !== undefined ? { endpoints: [...new Set(grant.endpoints)] } : {}) };
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;
// lastUsedAt answers "is this key still in use?", for which a minute is plenty; a write per request
// would put a database write on the hot path.
const KEY_USE_WRITE_INTERVAL_MS = 60_000;
/** Compared against when the id is unknown, so that path costs what a wrong secret costs. */
const UNKNOWN_KEY_HASH = hashSecret('no key has this secret');

function keyNotFound(id: string): GatehouseError {
  return new GatehouseError('key_not_found', undefined, { id: id.slice(0, 80) });
}
