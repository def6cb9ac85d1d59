import type { ColumnDefinitionBuilder, CreateTableBuilder, Generated, Kysely } from 'kysely';
import { GatehouseError } from '../core/index.js';

/**
 * The registry's schema as forward-only migrations, written once with Kysely's schema builder for
 * both SQLite and PostgreSQL. JSON is stored as text and times as ISO-8601 text, so that the two
 * dialects hold the same bytes and a dump of one reads like a dump of the other.
 */

export type SqlDialectName = 'sqlite' | 'postgres';

/**
 * The rows as the newest migration leaves them. JSON columns are text; `ok` is 0 or 1 because SQLite
 * has no boolean.
 */
export interface RegistryTables {
  gatehouse_schema: { id: number; version: number };
  servers: { name: string; spec: string; status: string; source: string; created_at: string; updated_at: string };
  virtual_servers: { name: string; spec: string; source: string; created_at: string; updated_at: string };
  learnt_state: {
    server: string;
    server_info: string | null;
    protocol_version: string | null;
    capabilities: string | null;
    instructions: string | null;
    tools: string;
    prompts: string;
    resources: string;
    resource_templates: string;
    updated_at: string;
  };
  tool_fingerprints: { server: string; tool: string; fingerprint: string; first_seen_at: string; last_seen_at: string };
  /** `id` is bigint in PostgreSQL, which pg hands back as a string. */
  health_samples: { id: Generated<number | string>; server: string; at: string; ok: number; latency_ms: number | null; error: string | null };
  admin_events: { id: Generated<number>; at: string; actor: string; action: string; target: string; detail: string };
  registry_meta: { revision: number };
  /** `sealed` is the encrypted token set (see registry/sealed-box.ts). */
  user_connections: { server: string; subject: string; sealed: string; created_at: string; updated_at: string };
  oauth_flows: { state: string; server: string; subject: string; sealed: string; expires_at: string };
  /** `roles` is a JSON array; `endpoints` a JSON array or null (any endpoint). */
  api_keys: {
    id: string;
    name: string;
    secret_hash: string;
    roles: string;
    endpoints: string | null;
    created_at: string;
    expires_at: string | null;
    revoked_at: string | null;
    rotated_from: string | null;
    last_used_at: string | null;
    created_by: string;
  };
  /** `spec` is the policy's JSON. */
  policies: { id: string; position: number; spec: string; source: string; created_at: string; updated_at: string };
  /** `spec` is the limit rule's JSON, its name included. */
  limit_rules: { name: string; position: number; spec: string; source: string; created_at: string; updated_at: string };
}

interface Migration {
  readonly version: number;
  readonly description: string;
  up(db: Kysely<RegistryTables>, dialect: SqlDialectName): Promise<void>;
}

/** The one column the dialects spell differently: a generated integer key. */
function autoIncrementId<T extends string>(
  table: CreateTableBuilder<T, never>,
  dialect: SqlDialectName,
  type: 'integer' | 'bigint',
): CreateTableBuilder<T, 'id'> {
  // SQLite: only `integer primary key` aliases the rowid, and AUTOINCREMENT stops ids of deleted rows
  // from being handed out again (admin event ids are pagination cursors). PostgreSQL has no
  // AUTOINCREMENT keyword; an identity column is its standard spelling.
  const column = (builder: ColumnDefinitionBuilder): ColumnDefinitionBuilder =>
    dialect === 'sqlite' ? builder.primaryKey().autoIncrement() : builder.primaryKey().generatedByDefaultAsIdentity();
  return table.addColumn('id', dialect === 'sqlite' ? 'integer' : type, column);
}

const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'servers, virtual servers, learnt state, fingerprints, health, admin events, revision',
    async up(db, dialect) {
      await db.schema
        .createTable('servers')
        .addColumn('name', 'text', (column) => column.primaryKey())
        .addColumn('spec', 'text', (column) => column.notNull())
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('source', 'text', (column) => column.notNull())
        .addColumn('created_at', 'text', (column) => column.notNull())
        .addColumn('updated_at', 'text', (column) => column.notNull())
        .execute();

      await db.schema
        .createTable('virtual_servers')
        .addColumn('name', 'text', (column) => column.primaryKey())
        .addColumn('spec', 'text', (column) => column.notNull())
        .addColumn('source', 'text', (column) => column.notNull())
        .addColumn('created_at', 'text', (column) => column.notNull())
        .addColumn('updated_at', 'text', (column) => column.notNull())
        .execute();

      await db.schema
        .createTable('learnt_state')
        .addColumn('server', 'text', (column) => column.primaryKey())
        .addColumn('server_info', 'text')
        .addColumn('protocol_version', 'text')
        .addColumn('capabilities', 'text')
        .addColumn('instructions', 'text')
        .addColumn('tools', 'text', (column) => column.notNull())
        .addColumn('prompts', 'text', (column) => column.notNull())
        .addColumn('resources', 'text', (column) => column.notNull())
        .addColumn('resource_templates', 'text', (column) => column.notNull())
        .addColumn('updated_at', 'text', (column) => column.notNull())
        .execute();

      await db.schema
        .createTable('tool_fingerprints')
        .addColumn('server', 'text', (column) => column.notNull())
        .addColumn('tool', 'text', (column) => column.notNull())
        .addColumn('fingerprint', 'text', (column) => column.notNull())
        .addColumn('first_seen_at', 'text', (column) => column.notNull())
        .addColumn('last_seen_at', 'text', (column) => column.notNull())
        .addPrimaryKeyConstraint('tool_fingerprints_pk', ['server', 'tool', 'fingerprint'])
        .execute();

      // Samples arrive every few seconds per server for as long as the gateway runs: bigint keys.
      await autoIncrementId(db.schema.createTable('health_samples'), dialect, 'bigint')
        .addColumn('server', 'text', (column) => column.notNull())
        .addColumn('at', 'text', (column) => column.notNull())
        .addColumn('ok', 'integer', (column) => column.notNull())
        .addColumn('latency_ms', 'double precision')
        .addColumn('error', 'text')
        .execute();
      // (server, at) serves the summaries' window and the cascade on delete; (at) serves pruning.
      await db.schema.createIndex('health_samples_server_at').on('health_samples').columns(['server', 'at']).execute();
      await db.schema.createIndex('health_samples_at').on('health_samples').column('at').execute();

      await autoIncrementId(db.schema.createTable('admin_events'), dialect, 'integer')
        .addColumn('at', 'text', (column) => column.notNull())
        .addColumn('actor', 'text', (column) => column.notNull())
        .addColumn('action', 'text', (column) => column.notNull())
        .addColumn('target', 'text', (column) => column.notNull())
        .addColumn('detail', 'text', (column) => column.notNull())
        .execute();

      await db.schema
        .createTable('registry_meta')
        .addColumn('revision', 'integer', (column) => column.notNull())
        .execute();
      await db.insertInto('registry_meta').values({ revision: 0 }).execute();
    },
  },
  {
    version: 2,
    description: 'API keys',
    async up(db) {
      // No index beyond the primary key: the hot path reads one key by id, and listing reads them all.
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('secret_hash', 'text', (column) => column.notNull())
        .addColumn('roles', 'text', (column) => column.notNull())
        .addColumn('endpoints', 'text')
        .addColumn('created_at', 'text', (column) => column.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('rotated_from', 'text')
        .addColumn('last_used_at', 'text')
        .addColumn('created_by', 'text', (column) => column.notNull())
        .execute();
    },
  },
  {
    version: 3,
    description: 'policies',
    async up(db) {
      // A handful of rows, read whole on every change: the primary key is all the indexing they need.
      await db.schema
        .createTable('policies')
        .addColumn('id', 'text', (column) => column.primaryKey())
        .addColumn('position', 'integer', (column) => column.notNull())
        .addColumn('spec', 'text', (column) => column.notNull())
        .addColumn('source', 'text', (column) => column.notNull())
        .addColumn('created_at', 'text', (column) => column.notNull())
        .addColumn('updated_at', 'text', (column) => column.notNull())
        .execute();
    },
  },
  {
    version: 4,
    description: 'per-user upstream connections',
    async up(db) {
      // A user's tokens for one server, sealed (AES-256-GCM) by the gateway's secret key: a stolen
      // database alone gives no upstream access.
      await db.schema
        .createTable('user_connections')
        .addColumn('server', 'text', (column) => column.notNull())
        .addColumn('subject', 'text', (column) => column.notNull())
        .addColumn('sealed', 'text', (column) => column.notNull())
        .addColumn('created_at', 'text', (column) => column.notNull())
        .addColumn('updated_at', 'text', (column) => column.notNull())
        .addPrimaryKeyConstraint('user_connections_pk', ['server', 'subject'])
        .execute();
      // Authorizations under way (state → who asked, the PKCE verifier sealed): any replica may receive
      // the provider's redirect.
      await db.schema
        .createTable('oauth_flows')
        .addColumn('state', 'text', (column) => column.primaryKey())
        .addColumn('server', 'text', (column) => column.notNull())
        .addColumn('subject', 'text', (column) => column.notNull())
        .addColumn('sealed', 'text', (column) => column.notNull())
        .addColumn('expires_at', 'text', (column) => column.notNull())
        .execute();
    },
  },
  {
    version: 5,
    description: 'audit trail',
    async up(db, dialect) {
      // One row per audited call (see registry/audit-store.ts); bigint ids: a busy gateway writes many.
      await autoIncrementId(db.schema.createTable('audit_records'), dialect, 'bigint')
        .addColumn('replica_id', 'text', (column) => column.notNull())
        .addColumn('seq', 'bigint')
        .addColumn('prev_hash', 'text')
        .addColumn('hash', 'text')
        .addColumn('at', 'text', (column) => column.notNull())
        .addColumn('request_id', 'text')
        .addColumn('session_id', 'text')
        .addColumn('subject', 'text', (column) => column.notNull())
        .addColumn('user_name', 'text')
        .addColumn('identity_kind', 'text', (column) => column.notNull())
        .addColumn('team', 'text')
        .addColumn('key_id', 'text')
        .addColumn('client_name', 'text')
        .addColumn('client_version', 'text')
        .addColumn('endpoint', 'text')
        .addColumn('method', 'text', (column) => column.notNull())
        .addColumn('server', 'text')
        .addColumn('name', 'text')
        .addColumn('arguments', 'text')
        .addColumn('outcome', 'text', (column) => column.notNull())
        .addColumn('error_code', 'text')
        .addColumn('result_bytes', 'integer')
        .addColumn('is_error', 'integer')
        .addColumn('result', 'text')
        .addColumn('latency_ms', 'double precision')
        .execute();
      // (replica_id, seq): the chain's order, its head, and the guard against two writers taking one
      // seq (NULL seqs, the intents, are distinct in both dialects). (at): retention and time filters.
      // No more: every index is written on every call, and queries walk ids newest first with a limit.
      await db.schema.createIndex('audit_records_chain').on('audit_records').columns(['replica_id', 'seq']).unique().execute();
      await db.schema.createIndex('audit_records_at').on('audit_records').column('at').execute();
      await db.schema
        .createTable('audit_anchors')
        .addColumn('replica_id', 'text', (column) => column.primaryKey())
        .addColumn('seq', 'bigint', (column) => column.notNull())
        .addColumn('hash', 'text', (column) => column.notNull())
        .addColumn('pruned_at', 'text', (column) => column.notNull())
        .execute();
    },
  },
  {
    version: 6,
    description: 'limit rules',
    async up(db) {
      // Like policies: a handful of rows, read whole on every change.
      await db.schema
        .createTable('limit_rules')
        .addColumn('name', 'text', (column) => column.primaryKey())
        .addColumn('position', 'integer', (column) => column.notNull())
        .addColumn('spec', 'text', (column) => column.notNull())
        .addColumn('source', 'text', (column) => column.notNull())
        .addColumn('created_at', 'text', (column) => column.notNull())
        .addColumn('updated_at', 'text', (column) => column.notNull())
        .execute();
    },
  },
  {
    version: 7,
    description: 'the replica that served an audited call',
    async up(db) {
      // Null for every earlier row: the hash covers it only when present, so they verify as before.
      await db.schema.alterTable('audit_records').addColumn('upstream', 'text').execute();
    },
  },
  {
    version: 8,
    description: 'the journalled intent an audit record completes',
    async up(db) {
      // Read only when a journal left by a killed gateway is imported (registry/intent-journal.ts),
      // bounded by the index on `at`: no index of its own, which every call would pay for.
      await db.schema.alterTable('audit_records').addColumn('intent', 'text').execute();
    },
  },
];

/** The newest schema version this code knows. */
export const LATEST_SCHEMA_VERSION = migrations.reduce((latest, migration) => Math.max(latest, migration.version), 0);

function tooNew(found: number): GatehouseError {
  return new GatehouseError('store_schema_too_new', `database schema version ${found}, this Gatehouse knows up to ${LATEST_SCHEMA_VERSION}`);
}

async function createSchemaTable(db: Kysely<RegistryTables>): Promise<void> {
  await db.schema
    .createTable('gatehouse_schema')
    .ifNotExists()
    .addColumn('id', 'integer', (column) => column.primaryKey())
    .addColumn('version', 'integer', (column) => column.notNull())
    .execute();
  // A fixed key makes the seed row idempotent when two replicas start on an empty database at once.
  await db
    .insertInto('gatehouse_schema')
    .values({ id: 1, version: 0 })
    .onConflict((conflict) => conflict.column('id').doNothing())
    .execute();
}

/**
 * Brings the database up to LATEST_SCHEMA_VERSION, one transaction per migration; returns the
 * version it ends at. Throws `store_schema_too_new` when a newer Gatehouse already migrated it,
 * before touching anything.
 */
export async function migrateToLatest(db: Kysely<RegistryTables>, dialect: SqlDialectName): Promise<number> {
  try {
    await createSchemaTable(db);
  } catch {
    // PostgreSQL's CREATE TABLE IF NOT EXISTS can still fail with a unique violation in its catalogue
    // when another replica creates the same table at the same moment; by now the table exists.
    await createSchemaTable(db);
  }

  const readVersion = async (): Promise<number> =>
    (await db.selectFrom('gatehouse_schema').select('version').where('id', '=', 1).executeTakeFirstOrThrow()).version;
  const found = await readVersion();
  if (found > LATEST_SCHEMA_VERSION) throw tooNew(found);

  for (const migration of migrations) {
    if (migration.version <= found) continue;
    await db.transaction().execute(async (transaction) => {
      // A no-op write first: it takes PostgreSQL's row lock and SQLite's write lock, so a replica
      // migrating concurrently waits here and then sees the version this one wrote.
      await transaction
        .updateTable('gatehouse_schema')
        .set((expression) => ({ version: expression.ref('version') }))
        .where('id', '=', 1)
        .execute();
      const { version } = await transaction.selectFrom('gatehouse_schema').select('version').where('id', '=', 1).executeTakeFirstOrThrow();
      if (version > LATEST_SCHEMA_VERSION) throw tooNew(version);
      if (version >= migration.version) return;
      await migration.up(transaction, dialect);
      await transaction.updateTable('gatehouse_schema').set({ version: migration.version }).where('id', '=', 1).execute();
    });
  }
  return readVersion();
}
