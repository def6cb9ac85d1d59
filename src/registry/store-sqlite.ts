import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Kysely, SqliteDialect } from 'kysely';
import { GatehouseError } from '../core/index.js';
import { migrateToLatest, type RegistryTables } from './migrations.js';
import { SqlStore } from './store-sql.js';
import type { SyncStatementRunner } from './audit-store-sql.js';
import type { StoreOptions } from './store-records.js';

/** The embedded store (the default): one SQLite file, in WAL mode so readers never wait for the writer. */
export class SqliteStore extends SqlStore {
  constructor(db: Kysely<RegistryTables>, file: string, options: StoreOptions, syncStatements?: SyncStatementRunner) {
    super('sqlite', db, { ...options, translateError: (error) => translateSqliteError(error, file), ...(syncStatements && { syncStatements }) });
  }
}

type Database = import('better-sqlite3').Database;

/**
 * Statements run on the connection Kysely also uses, prepared once. better-sqlite3 is synchronous, so
 * a statement run here cannot interleave with anything, except a transaction Kysely holds open across
 * its awaits: then the statement would join it, so it is left to Kysely (which waits for it).
 */
function syncStatementsOn(database: Database): SyncStatementRunner {
  return (sql) => {
    // Prepared at first use: the store is built before the migrations create its tables.
    let statement: import('better-sqlite3').Statement<unknown[], { id: number | bigint }> | undefined;
    const insert = (values: readonly unknown[]): number => Number((statement ??= database.prepare(sql)).get(...values)!.id);
    const many = database.transaction((rows: readonly (readonly unknown[])[]) => rows.map(insert));
    return (rows) => {
      if (database.inTransaction) return undefined;
      return rows.length === 1 ? [insert(rows[0]!)] : many(rows);
    };
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
  const store = new SqliteStore(db, file, options, syncStatementsOn(database));
  try {
    await migrateToLatest(db, 'sqlite');
  } catch (error) {
    await store.close();
    throw translateSqliteError(error, file);
  }
  return store;
}
