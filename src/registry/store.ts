import type { AuditStore } from './audit-store.js';
import type { LimitRuleSpec } from './limit-spec.js';
import type { PolicySpec, ServerSpec, ServerStatus, VirtualServerSpec } from './server-spec.js';

/**
 * The registry's persistence (DESIGN: one interface, SQLite embedded and PostgreSQL shared, one
 * contract suite for both). Times are ISO-8601 strings in UTC; JSON columns hold the zod-validated
 * specs as they were written.
 */

/** Where a record came from: the config file (read-only through the API) or the admin API. */
export type RecordSource = 'file' | 'api';

export interface ServerRecord {
  readonly name: string;
  readonly spec: ServerSpec;
  readonly status: ServerStatus;
  readonly source: RecordSource;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface VirtualServerRecord {
  readonly name: string;
  readonly spec: VirtualServerSpec;
  readonly source: RecordSource;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * A policy (roles and policies, issue #5). File policies have the ids `file-0`, `file-1`, … by their
 * place in `auth.policies`; API ones `pol_` and random characters.
 */
export interface PolicyRecord {
  readonly id: string;
  /**
   * Where it sits in listings. Deny wins whatever the order, so this changes no decision; it keeps
   * lists (and the order the gateway compiles them in) the same on every read and every replica.
   */
  readonly position: number;
  readonly spec: PolicySpec;
  readonly source: RecordSource;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * A limit rule (traffic management, issue #6), keyed by its name: refusals and counters name it. The
 * config file's rules are seeded with `source: 'file'` and their place in `limits.rules` as position.
 */
export interface LimitRuleRecord {
  readonly name: string;
  /** Listing order within its source; every matching rule applies whatever the order. */
  readonly position: number;
  readonly spec: LimitRuleSpec;
  readonly source: RecordSource;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** What the gateway learnt from a server the last time it connected and listed. */
export interface LearntState {
  readonly server: string;
  readonly serverInfo: Record<string, unknown> | null;
  readonly protocolVersion: string | null;
  readonly capabilities: Record<string, unknown> | null;
  readonly instructions: string | null;
  readonly tools: readonly Record<string, unknown>[];
  readonly prompts: readonly Record<string, unknown>[];
  readonly resources: readonly Record<string, unknown>[];
  readonly resourceTemplates: readonly Record<string, unknown>[];
  readonly updatedAt: string;
}

/** A hash of one tool's name, description and schemas, and when the gateway first and last saw it. */
export interface ToolFingerprint {
  readonly server: string;
  readonly tool: string;
  readonly fingerprint: string;
  readonly firstSeenAt: string;
  readonly lastSeenAt: string;
}

export interface HealthSample {
  readonly server: string;
  readonly at: string;
  readonly ok: boolean;
  readonly latencyMs: number | null;
  readonly error: string | null;
}

export interface HealthSummary {
  readonly server: string;
  readonly checks: number;
  readonly ok: number;
  /** ok / checks over the window, 0..1; null when there were no checks. */
  readonly uptime: number | null;
  readonly avgLatencyMs: number | null;
  readonly last: HealthSample | null;
  readonly lastError: HealthSample | null;
}

/** One change made through the admin API (registration of a stdio server is code execution: it is recorded). */
export interface AdminEvent {
  readonly id: number;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly target: string;
  readonly detail: Record<string, unknown>;
}

export type AdminEventInput = Omit<AdminEvent, 'id'>;

/**
 * An API key as stored. Only the SHA-256 of its secret is kept (see api-keys.ts); the token itself
 * exists once, in the answer to the request that created it.
 */
export interface ApiKeyRecord {
  /** Public, the middle part of the token; `Identity.subject` of requests made with the key. */
  readonly id: string;
  readonly name: string;
  /** Hex SHA-256 of the token's secret part. Never leaves the registry. */
  readonly secretHash: string;
  readonly roles: readonly string[];
  /** The servers and virtual servers the key may reach; null for any. */
  readonly endpoints: readonly string[] | null;
  readonly createdAt: string;
  /** Null for a key that does not expire. A rotation moves it earlier, never later. */
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  /** The id of the key this one replaced in a rotation. */
  readonly rotatedFrom: string | null;
  /** Best effort and coarse: written at most about once a minute per key and replica. */
  readonly lastUsedAt: string | null;
  /** The actor that created the key (or rotated its predecessor). */
  readonly createdBy: string;
}

/** A user's tokens for one server, as the registry sealed them. */
export interface UserConnectionRecord {
  readonly server: string;
  /** The principal: `Identity.subject`. */
  readonly subject: string;
  readonly sealed: string;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** An authorization (code + PKCE) the gateway started for a user and waits to see completed. */
export interface OAuthFlowRecord {
  /** The OAuth `state` parameter: random, single use. */
  readonly state: string;
  readonly server: string;
  readonly subject: string;
  /** The PKCE verifier and the browser binding, sealed. */
  readonly sealed: string;
  readonly expiresAt: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Pass back as `before` for the next (older) page; absent on the last page. */
  readonly next?: number;
}

export interface Store {
  /** `sqlite` or `postgres`, for status output. */
  readonly kind: string;
  /** The audit trail, in the same database (issue #7; see audit-store.ts). */
  readonly audit: AuditStore;

  listServers(): Promise<ServerRecord[]>;
  getServer(name: string): Promise<ServerRecord | undefined>;
  /** Inserts or replaces; keeps `createdAt` of an existing record. Bumps the revision. */
  putServer(record: Omit<ServerRecord, 'createdAt' | 'updatedAt'>): Promise<ServerRecord>;
  /** True when a record was deleted. Bumps the revision when it was. Also deletes its learnt state, fingerprints and health. */
  deleteServer(name: string): Promise<boolean>;

  listVirtualServers(): Promise<VirtualServerRecord[]>;
  getVirtualServer(name: string): Promise<VirtualServerRecord | undefined>;
  putVirtualServer(record: Omit<VirtualServerRecord, 'createdAt' | 'updatedAt'>): Promise<VirtualServerRecord>;
  deleteVirtualServer(name: string): Promise<boolean>;

  /** Ordered by position, ties by id. */
  listPolicies(): Promise<PolicyRecord[]>;
  getPolicy(id: string): Promise<PolicyRecord | undefined>;
  /** Inserts or replaces; keeps `createdAt` of an existing record. Bumps the revision. */
  putPolicy(record: Omit<PolicyRecord, 'createdAt' | 'updatedAt'>): Promise<PolicyRecord>;
  /** True when a record was deleted. Bumps the revision when it was. */
  deletePolicy(id: string): Promise<boolean>;

  /** Ordered by position, ties by name. */
  listLimitRules(): Promise<LimitRuleRecord[]>;
  getLimitRule(name: string): Promise<LimitRuleRecord | undefined>;
  /** Inserts or replaces; keeps `createdAt` of an existing record. Bumps the revision. */
  putLimitRule(record: Omit<LimitRuleRecord, 'createdAt' | 'updatedAt'>): Promise<LimitRuleRecord>;
  /** True when a record was deleted. Bumps the revision when it was. */
  deleteLimitRule(name: string): Promise<boolean>;

  /**
   * A number that grows whenever servers, virtual servers, policies or limit rules change, so that replicas sharing one
   * database notice each other's changes by polling one row.
   */
  revision(): Promise<number>;

  putLearnt(state: LearntState): Promise<void>;
  getLearnt(server: string): Promise<LearntState | undefined>;
  listLearnt(): Promise<LearntState[]>;

  /**
   * Records the fingerprints seen now: new (server, tool, fingerprint) rows get `firstSeenAt = at`,
   * known ones get `lastSeenAt = at`. Returns the rows as stored after the call, for these tools.
   */
  recordFingerprints(server: string, fingerprints: readonly { tool: string; fingerprint: string }[], at: string): Promise<ToolFingerprint[]>;
  listFingerprints(server: string): Promise<ToolFingerprint[]>;

  recordHealth(sample: HealthSample): Promise<void>;
  /** Counts, uptime and average latency of the samples at or after `since`, per server that has any. */
  healthSummaries(since: string): Promise<HealthSummary[]>;
  /** Deletes samples older than `before`; returns how many. */
  pruneHealth(before: string): Promise<number>;

  // API keys. Unlike servers they do not bump the revision and are not cached by the registry: every
  // request reads its key from the store (by primary key), so a revocation made through any replica
  // is seen by every replica on the next request.

  /** Inserts a new key; `internal` when the id exists (ids are random: a clash is a bug, never an overwrite). */
  putApiKey(record: ApiKeyRecord): Promise<ApiKeyRecord>;
  getApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  /** Every key, revoked and expired ones too, oldest first (ties by id). */
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Sets `revokedAt` unless already set (the first revocation's time is kept); the record after, undefined when there is no such key. */
  revokeApiKey(id: string, at: string): Promise<ApiKeyRecord | undefined>;
  /**
   * Moves `expiresAt` to `at` when the key has no expiry or a later one; never extends it. One
   * conditional UPDATE, so a concurrent revocation or rotation on another replica is never undone.
   * The record after, undefined when there is no such key.
   */
  expireApiKey(id: string, at: string): Promise<ApiKeyRecord | undefined>;
  /** Moves `lastUsedAt` forward to `at` (never back). Callers throttle: this is a write. */
  touchApiKey(id: string, at: string): Promise<void>;

  // Per-user upstream connections. `sealed` is opaque to the store (encrypted by the registry).

  /** Inserts or replaces the connection of `subject` to `server`; keeps `createdAt` of an existing one. */
  putUserConnection(record: Omit<UserConnectionRecord, 'createdAt' | 'updatedAt'>): Promise<UserConnectionRecord>;
  getUserConnection(server: string, subject: string): Promise<UserConnectionRecord | undefined>;
  /** One subject's connections, by server name. */
  listUserConnections(subject: string): Promise<UserConnectionRecord[]>;
  deleteUserConnection(server: string, subject: string): Promise<boolean>;
  putOAuthFlow(record: OAuthFlowRecord): Promise<void>;
  /**
   * Deletes the flow and returns it when it exists and has not expired at `now` (single use, whichever
   * replica the browser comes back to); prunes expired flows on the way.
   */
  takeOAuthFlow(state: string, now: string): Promise<OAuthFlowRecord | undefined>;

  appendAdminEvent(event: AdminEventInput): Promise<AdminEvent>;
  /** Newest first; `before` is an id from a previous page's `next`. */
  listAdminEvents(options: { limit: number; before?: number }): Promise<Page<AdminEvent>>;

  close(): Promise<void>;
}
