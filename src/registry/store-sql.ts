import type { Kysely, Transaction } from 'kysely';
import { SqlAuditStore, type SyncSqlite } from './audit-store-sql.js';
import type { IntentJournal } from './intent-journal.js';
import type { RegistryTables, SqlDialectName } from './migrations.js';
import {
  byName,
  canonicalApiKey,
  checkPageLimit,
  compareApiKeys,
  compareFingerprints,
  compareLimitRules,
  comparePolicies,
  compareText,
  duplicateApiKey,
  isoTime,
  nowFrom,
  uniqueFingerprints,
  type StoreOptions,
} from './store-records.js';
import { queryHealthSummaries } from './store-sql-health.js';
import {
  toAdminEvent,
  toApiKey,
  toFingerprint,
  toLearntState,
  toLimitRuleRecord,
  toPolicyRecord,
  toServerRecord,
  toUserConnection,
  toVirtualServerRecord,
} from './store-sql-rows.js';
import type {
  AdminEvent,
  ApiKeyRecord,
  AdminEventInput,
  HealthSample,
  HealthSummary,
  LearntState,
  LimitRuleRecord,
  OAuthFlowRecord,
  Page,
  PolicyRecord,
  ServerRecord,
  Store,
  ToolFingerprint,
  UserConnectionRecord,
  VirtualServerRecord,
} from './store.js';

/**
 * The `Store` on Kysely, one implementation for SQLite and PostgreSQL: every query here is
 * dialect-neutral (upserts with ON CONFLICT, RETURNING, window functions), so the two differ only in
 * how they connect, how their errors read, and the migrations' id columns.
 */

export interface SqlStoreOptions extends StoreOptions {
  /** Turns a driver error into a catalogue error when it means the database cannot be reached. */
  readonly translateError: (error: unknown) => unknown;
  /** An embedded database's synchronous statements, for the hot path's writes. */
  readonly sync?: SyncSqlite;
  /** Where an embedded database's audit intents go (intent-journal.ts). */
  readonly journal?: IntentJournal;
}

// Well under PostgreSQL's 65535 bind parameters per statement at five columns a row.
const UPSERT_CHUNK = 1000;

export class SqlStore implements Store {
  private readonly now: () => string;
  private closing: Promise<void> | undefined;
  readonly audit: SqlAuditStore;

  constructor(
    readonly kind: SqlDialectName,
    private readonly db: Kysely<RegistryTables>,
    private readonly options: SqlStoreOptions,
  ) {
    this.now = nowFrom(options);
    this.audit = new SqlAuditStore(db, kind, (error) => options.translateError(error), options.sync, options.journal);
  }

  /** Every query goes through here so that an unreachable database is reported as one. */
  private async run<T>(work: (db: Kysely<RegistryTables>) => Promise<T>): Promise<T> {
    try {
      return await work(this.db);
    } catch (error) {
      throw this.options.translateError(error);
    }
  }

  /** In the transaction that changed servers, virtual servers or policies, so replicas polling it never miss a change. */
  private async bumpRevision(transaction: Transaction<RegistryTables>): Promise<void> {
    await transaction
      .updateTable('registry_meta')
      .set((expression) => ({ revision: expression('revision', '+', 1) }))
      .execute();
  }

  listServers(): Promise<ServerRecord[]> {
    return this.run(async (db) => (await db.selectFrom('servers').selectAll().execute()).map(toServerRecord).sort(byName));
  }

  getServer(name: string): Promise<ServerRecord | undefined> {
    return this.run(async (db) => {
      const row = await db.selectFrom('servers').selectAll().where('name', '=', name).executeTakeFirst();
      return row === undefined ? undefined : toServerRecord(row);
    });
  }

  async putServer(record: Omit<ServerRecord, 'createdAt' | 'updatedAt'>): Promise<ServerRecord> {
    const now = this.now();
    const fields = { spec: JSON.stringify(record.spec), status: record.status, source: record.source, updated_at: now };
    return this.run((db) =>
      db.transaction().execute(async (transaction) => {
        const row = await transaction
          .insertInto('servers')
          .values({ name: record.name, created_at: now, ...fields })
          .onConflict((conflict) => conflict.column('name').doUpdateSet(fields))
          .returningAll()
          .executeTakeFirstOrThrow();
        await this.bumpRevision(transaction);
        return toServerRecord(row);
      }),
    );
  }

  deleteServer(name: string): Promise<boolean> {
    return this.run((db) =>
      db.transaction().execute(async (transaction) => {
        const result = await transaction.deleteFrom('servers').where('name', '=', name).executeTakeFirst();
        await transaction.deleteFrom('learnt_state').where('server', '=', name).execute();
        await transaction.deleteFrom('tool_fingerprints').where('server', '=', name).execute();
        await transaction.deleteFrom('health_samples').where('server', '=', name).execute();
        const deleted = result.numDeletedRows > 0n;
        if (deleted) await this.bumpRevision(transaction);
        return deleted;
      }),
    );
  }

  listVirtualServers(): Promise<VirtualServerRecord[]> {
    return this.run(async (db) => (await db.selectFrom('virtual_servers').selectAll().execute()).map(toVirtualServerRecord).sort(byName));
  }

  getVirtualServer(name: string): Promise<VirtualServerRecord | undefined> {
    return this.run(async (db) => {
      const row = await db.selectFrom('virtual_servers').selectAll().where('name', '=', name).executeTakeFirst();
      return row === undefined ? undefined : toVirtualServerRecord(row);
    });
  }

  async putVirtualServer(record: Omit<VirtualServerRecord, 'createdAt' | 'updatedAt'>): Promise<VirtualServerRecord> {
    const now = this.now();
    const fields = { spec: JSON.stringify(record.spec), source: record.source, updated_at: now };
    return this.run((db) =>
      db.transaction().execute(async (transaction) => {
        const row = await transaction
          .insertInto('virtual_servers')
          .values({ name: record.name, created_at: now, ...fields })
          .onConflict((conflict) => conflict.column('name').doUpdateSet(fields))
          .returningAll()
          .executeTakeFirstOrThrow();
        await this.bumpRevision(transaction);
        return toVirtualServerRecord(row);
      }),
    );
  }

  deleteVirtualServer(name: string): Promise<boolean> {
    return this.run((db) =>
      db.transaction().execute(async (transaction) => {
        const result = await transaction.deleteFrom('virtual_servers').where('name', '=', name).executeTakeFirst();
        const deleted = result.numDeletedRows > 0n;
        if (deleted) await this.bumpRevision(transaction);
        return deleted;
      }),
    );
  }

  listPolicies(): Promise<PolicyRecord[]> {
    return this.run(async (db) => (await db.selectFrom('policies').selectAll().execute()).map(toPolicyRecord).sort(comparePolicies));
  }

  getPolicy(id: string): Promise<PolicyRecord | undefined> {
    return this.run(async (db) => {
      const row = await db.selectFrom('policies').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toPolicyRecord(row);
    });
  }

  async putPolicy(record: Omit<PolicyRecord, 'createdAt' | 'updatedAt'>): Promise<PolicyRecord> {
    const now = this.now();
    const fields = { position: record.position, spec: JSON.stringify(record.spec), source: record.source, updated_at: now };
    return this.run((db) =>
      db.transaction().execute(async (transaction) => {
        const row = await transaction
          .insertInto('policies')
          .values({ id: record.id, created_at: now, ...fields })
          .onConflict((conflict) => conflict.column('id').doUpdateSet(fields))
          .returningAll()
          .executeTakeFirstOrThrow();
        await this.bumpRevision(transaction);
        return toPolicyRecord(row);
      }),
    );
  }

  deletePolicy(id: string): Promise<boolean> {
    return this.run((db) =>
      db.transaction().execute(async (transaction) => {
        const result = await transaction.deleteFrom('policies').where('id', '=', id).executeTakeFirst();
        const deleted = result.numDeletedRows > 0n;
        if (deleted) await this.bumpRevision(transaction);
        return deleted;
      }),
    );
  }

  listLimitRules(): Promise<LimitRuleRecord[]> {
    return this.run(async (db) => (await db.selectFrom('limit_rules').selectAll().execute()).map(toLimitRuleRecord).sort(compareLimitRules));
  }

  getLimitRule(name: string): Promise<LimitRuleRecord | undefined> {
    return this.run(async (db) => {
      const row = await db.selectFrom('limit_rules').selectAll().where('name', '=', name).executeTakeFirst();
      return row === undefined ? undefined : toLimitRuleRecord(row);
    });
  }

  async putLimitRule(record: Omit<LimitRuleRecord, 'createdAt' | 'updatedAt'>): Promise<LimitRuleRecord> {
    const now = this.now();
    const fields = { position: record.position, spec: JSON.stringify(record.spec), source: record.source, updated_at: now };
    return this.run((db) =>
      db.transaction().execute(async (transaction) => {
        const row = await transaction
          .insertInto('limit_rules')
          .values({ name: record.name, created_at: now, ...fields })
          .onConflict((conflict) => conflict.column('name').doUpdateSet(fields))
          .returningAll()
          .executeTakeFirstOrThrow();
        await this.bumpRevision(transaction);
        return toLimitRuleRecord(row);
      }),
    );
  }

  deleteLimitRule(name: string): Promise<boolean> {
    return this.run((db) =>
      db.transaction().execute(async (transaction) => {
        const result = await transaction.deleteFrom('limit_rules').where('name', '=', name).executeTakeFirst();
        const deleted = result.numDeletedRows > 0n;
        if (deleted) await this.bumpRevision(transaction);
        return deleted;
      }),
    );
  }

  revision(): Promise<number> {
    return this.run(async (db) => {
      const row = await db.selectFrom('registry_meta').select('revision').executeTakeFirstOrThrow();
      return Number(row.revision);
    });
  }

  async putLearnt(state: LearntState): Promise<void> {
    const fields = {
      server_info: state.serverInfo === null ? null : JSON.stringify(state.serverInfo),
      protocol_version: state.protocolVersion,
      capabilities: state.capabilities === null ? null : JSON.stringify(state.capabilities),
      instructions: state.instructions,
      tools: JSON.stringify(state.tools),
      prompts: JSON.stringify(state.prompts),
      resources: JSON.stringify(state.resources),
      resource_templates: JSON.stringify(state.resourceTemplates),
      updated_at: isoTime(state.updatedAt),
    };
    await this.run((db) =>
      db
        .insertInto('learnt_state')
        .values({ server: state.server, ...fields })
        .onConflict((conflict) => conflict.column('server').doUpdateSet(fields))
        .execute(),
    );
  }

  getLearnt(server: string): Promise<LearntState | undefined> {
    return this.run(async (db) => {
      const row = await db.selectFrom('learnt_state').selectAll().where('server', '=', server).executeTakeFirst();
      return row === undefined ? undefined : toLearntState(row);
    });
  }

  listLearnt(): Promise<LearntState[]> {
    return this.run(async (db) =>
      (await db.selectFrom('learnt_state').selectAll().execute()).map(toLearntState).sort((left, right) => compareText(left.server, right.server)),
    );
  }

  async recordFingerprints(server: string, fingerprints: readonly { tool: string; fingerprint: string }[], at: string): Promise<ToolFingerprint[]> {
    const seenAt = isoTime(at);
    const unique = uniqueFingerprints(fingerprints);
    if (unique.length === 0) return [];
    const tools = new Set(unique.map((entry) => entry.tool));
    return this.run((db) =>
      db.transaction().execute(async (transaction) => {
        for (let start = 0; start < unique.length; start += UPSERT_CHUNK) {
          const rows = unique
            .slice(start, start + UPSERT_CHUNK)
            .map(({ tool, fingerprint }) => ({ server, tool, fingerprint, first_seen_at: seenAt, last_seen_at: seenAt }));
          await transaction
            .insertInto('tool_fingerprints')
            .values(rows)
            .onConflict((conflict) => conflict.columns(['server', 'tool', 'fingerprint']).doUpdateSet({ last_seen_at: seenAt }))
            .execute();
        }
        // Every fingerprint these tools ever had, so the caller sees a tool whose definition changed.
        const stored = await transaction.selectFrom('tool_fingerprints').selectAll().where('server', '=', server).execute();
        return stored.filter((row) => tools.has(row.tool)).map(toFingerprint).sort(compareFingerprints);
      }),
    );
  }

  listFingerprints(server: string): Promise<ToolFingerprint[]> {
    return this.run(async (db) =>
      (await db.selectFrom('tool_fingerprints').selectAll().where('server', '=', server).execute()).map(toFingerprint).sort(compareFingerprints),
    );
  }

  async recordHealth(sample: HealthSample): Promise<void> {
    await this.run((db) =>
      db
        .insertInto('health_samples')
        .values({ server: sample.server, at: isoTime(sample.at), ok: sample.ok ? 1 : 0, latency_ms: sample.latencyMs, error: sample.error })
        .execute(),
    );
  }

  async healthSummaries(since: string): Promise<HealthSummary[]> {
    const from = isoTime(since);
    return this.run((db) => queryHealthSummaries(db, from));
  }

  async pruneHealth(before: string): Promise<number> {
    const cutoff = isoTime(before);
    return this.run(async (db) => {
      const result = await db.deleteFrom('health_samples').where('at', '<', cutoff).executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }

  async putApiKey(record: ApiKeyRecord): Promise<ApiKeyRecord> {
    const key = canonicalApiKey(record);
    const row = await this.run((db) =>
      db
        .insertInto('api_keys')
        .values({
          id: key.id,
          name: key.name,
          secret_hash: key.secretHash,
          roles: JSON.stringify(key.roles),
          endpoints: key.endpoints === null ? null : JSON.stringify(key.endpoints),
          created_at: key.createdAt,
          expires_at: key.expiresAt,
          revoked_at: key.revokedAt,
          rotated_from: key.rotatedFrom,
          last_used_at: key.lastUsedAt,
          created_by: key.createdBy,
        })
        // Not a driver error on a clash, so all three stores report it the same way.
        .onConflict((conflict) => conflict.column('id').doNothing())
        .returningAll()
        .executeTakeFirst(),
    );
    if (row === undefined) throw duplicateApiKey(key.id);
    return toApiKey(row);
  }

  getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return this.run(async (db) => {
      const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row === undefined ? undefined : toApiKey(row);
    });
  }

  listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.run(async (db) => (await db.selectFrom('api_keys').selectAll().execute()).map(toApiKey).sort(compareApiKeys));
  }

  revokeApiKey(id: string, at: string): Promise<ApiKeyRecord | undefined> {
    const revokedAt = isoTime(at);
    return this.run(async (db) => {
      await db.updateTable('api_keys').set({ revoked_at: revokedAt }).where('id', '=', id).where('revoked_at', 'is', null).execute();
      return this.getApiKey(id);
    });
  }

  expireApiKey(id: string, at: string): Promise<ApiKeyRecord | undefined> {
    const expiresAt = isoTime(at);
    return this.run(async (db) => {
      await db
        .updateTable('api_keys')
        .set({ expires_at: expiresAt })
        .where('id', '=', id)
        .where((expression) => expression.or([expression('expires_at', 'is', null), expression('expires_at', '>', expiresAt)]))
        .execute();
      return this.getApiKey(id);
    });
  }

  async touchApiKey(id: string, at: string): Promise<void> {
    const usedAt = isoTime(at);
    await this.run((db) =>
      db
        .updateTable('api_keys')
        .set({ last_used_at: usedAt })
        .where('id', '=', id)
        .where((expression) => expression.or([expression('last_used_at', 'is', null), expression('last_used_at', '<', usedAt)]))
        .execute(),
    );
  }

  putUserConnection(record: Omit<UserConnectionRecord, 'createdAt' | 'updatedAt'>): Promise<UserConnectionRecord> {
    const now = this.now();
    return this.run(async (db) =>
      toUserConnection(
        await db
          .insertInto('user_connections')
          .values({ server: record.server, subject: record.subject, sealed: record.sealed, created_at: now, updated_at: now })
          .onConflict((conflict) => conflict.columns(['server', 'subject']).doUpdateSet({ sealed: record.sealed, updated_at: now }))
          .returningAll()
          .executeTakeFirstOrThrow(),
      ),
    );
  }

  getUserConnection(server: string, subject: string): Promise<UserConnectionRecord | undefined> {
    return this.run(async (db) => {
      const row = await db.selectFrom('user_connections').selectAll().where('server', '=', server).where('subject', '=', subject).executeTakeFirst();
      return row === undefined ? undefined : toUserConnection(row);
    });
  }

  listUserConnections(subject: string): Promise<UserConnectionRecord[]> {
    return this.run(async (db) =>
      (await db.selectFrom('user_connections').selectAll().where('subject', '=', subject).execute())
        .map(toUserConnection)
        .sort((a, b) => compareText(a.server, b.server)),
    );
  }

  deleteUserConnection(server: string, subject: string): Promise<boolean> {
    return this.run(async (db) => {
      const result = await db.deleteFrom('user_connections').where('server', '=', server).where('subject', '=', subject).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    });
  }

  putOAuthFlow(record: OAuthFlowRecord): Promise<void> {
    return this.run(async (db) => {
      await db
        .insertInto('oauth_flows')
        .values({ state: record.state, server: record.server, subject: record.subject, sealed: record.sealed, expires_at: isoTime(record.expiresAt) })
        .execute();
    });
  }

  takeOAuthFlow(state: string, now: string): Promise<OAuthFlowRecord | undefined> {
    const at = isoTime(now);
    return this.run(async (db) => {
      await db.deleteFrom('oauth_flows').where('expires_at', '<=', at).execute();
      // DELETE … RETURNING: of two replicas handed the same redirect, only one gets the flow.
      const row = await db.deleteFrom('oauth_flows').where('state', '=', state).returningAll().executeTakeFirst();
      return row === undefined ? undefined : { state: row.state, server: row.server, subject: row.subject, sealed: row.sealed, expiresAt: row.expires_at };
    });
  }

  async appendAdminEvent(event: AdminEventInput): Promise<AdminEvent> {
    return this.run(async (db) => {
      const row = await db
        .insertInto('admin_events')
        .values({ at: isoTime(event.at), actor: event.actor, action: event.action, target: event.target, detail: JSON.stringify(event.detail) })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toAdminEvent(row);
    });
  }

  async listAdminEvents(options: { limit: number; before?: number }): Promise<Page<AdminEvent>> {
    checkPageLimit(options.limit);
    return this.run(async (db) => {
      let query = db
        .selectFrom('admin_events')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(options.limit + 1);
      if (options.before !== undefined) query = query.where('id', '<', options.before);
      const rows = await query.execute();
      const items = rows.slice(0, options.limit).map(toAdminEvent);
      const oldest = items.at(-1);
      return rows.length > options.limit && oldest !== undefined ? { items, next: oldest.id } : { items };
    });
  }

  close(): Promise<void> {
    // The journal's open intents become rows first, while the database is still there.
    this.closing ??= this.audit.closeJournal().finally(() => this.db.destroy());
    return this.closing;
  }
}
