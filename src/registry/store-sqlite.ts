import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Kysely, SqliteDialect } from 'kysely';
import { GatehouseError } from '../core/index.js';
import { IntentJournal } from './intent-journal.js';
import { migrateToLatest, type RegistryTables } from './migrations.js';
import { SqlStore } from './store-sql.js';
import type { SyncSqlite, SyncStatement } from './audit-store-sql.js';
import type { StoreOptions } from './store-records.js';

/** The embedded store (the default): one SQLite file, in WAL mode so readers never wait for the writer. */
export class SqliteStore extends SqlStore {
  constructor(db: Kysely<RegistryTables>, file: string, options: StoreOptions, sync?: SyncSqlite, journal?: IntentJournal) {
    super('sqlite', db, { ...options, translateError: (error) => translateSqliteError(error, file), ...(sync && { sync }), ...(journal && { journal }) });
  }
}

type Database = import('better-sqlite3').Database;

/**
 * Statements run on the connection Kysely also uses, prepared once. better-sqlite3 is synchronous, so
 * work run here cannot interleave with anything, except a transaction Kysely holds open across its
 * awaits: then the work would join it, so it is left to Kysely (which waits for it).
 */
function syncSqliteOn(database: Database): SyncSqlite {
  const statements = new Map<string, SyncStatement>();
  const statement = (sql: string): SyncStatement => {
    let prepared: import('better-sqlite3').Statement<unknown[], Record<string, unknown>> | undefined;
    const compiled = () => (prepared ??= database.prepare(sql));
    return { get: (values) => compiled().get(...values), run: (values) => compiled().run(...values).changes };
  };
  return {
    statement: (sql) => {
      let found = statements.get(sql);
      if (found === undefined) statements.set(sql, (found = statement(sql)));
      return found;
    },
    run: (work, atomic) => {
      if (database.inTransaction) return undefined;
      return { value: atomic ? database.transaction(work)() : work() };
    },
  };
}

// Another process (a second gateway on the same file, a backup tool) holds the write lock for longer
// than a write here normally takes; waiting a few seconds beats failing an admin request.
const BUSY_TIMEOUT_MS = 5000;

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** SQLite's "cannot get at the file now" codes mean what `store_unavailable` says: retry shortly. */
function translateSqliteError(error: unknown, file: string): unknown {
  if (error instanceof GatehouseError) return error;
  const code = errorCode(error);
  if (code === undefined || !/^SQLITE_(BUSY|LOCKED|CANTOPEN|IOERR|FULL|READONLY)/.test(code)) return error;
  const reason = error instanceof Error ? error.message : code;
  return new GatehouseError('store_unavailable', `${file}: ${reason}`);
}

/** Opens (creating when missing) the SQLite file and migrates it to the newest schema. */
export async function openSqliteStore(file: string, options: StoreOptions = {}): Promise<SqliteStore> {
  // Loaded here rather than at the top so that a gateway on PostgreSQL or memory never loads the
  // native module, which fails to load under a Node whose ABI it was not built for.
  const { default: Database } = await import('better-sqlite3');
  let database: InstanceType<typeof Database> | undefined;
  try {
    await mkdir(dirname(file), { recursive: true });
    // `timeout` is better-sqlite3's busy_timeout.
    database = new Database(file, { timeout: BUSY_TIMEOUT_MS });
    database.pragma('journal_mode = WAL');
    // WAL with synchronous=NORMAL cannot corrupt the file; a power cut can only lose the last commits.
    database.pragma('synchronous = NORMAL');
  } catch (error) {
    database?.close();
    const reason = error instanceof Error ? error.message : String(error);
    throw new GatehouseError('store_unavailable', `${file}: ${reason}`);
  }
  const db = new Kysely<RegistryTables>({ dialect: new SqliteDialect({ database }) });
  const store = new SqliteStore(db, file, options, syncSqliteOn(database), new IntentJournal(file));
  try {
    await migrateToLatest(db, 'sqlite');
    await store.audit.importJournals(file);
  } catch (error) {
    await store.close();
    throw translateSqliteError(error, file);
  }
  return store;
}
