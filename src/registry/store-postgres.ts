import { Kysely, PostgresDialect } from 'kysely';
import type { Pool } from 'pg';
import { GatehouseError } from '../core/index.js';
import { migrateToLatest, type RegistryTables } from './migrations.js';
import { SqlStore } from './store-sql.js';
import type { StoreOptions } from './store-records.js';

/** The shared store: several gateway replicas on one PostgreSQL database. */
export class PostgresStore extends SqlStore {
  constructor(db: Kysely<RegistryTables>, target: PostgresTarget, options: StoreOptions) {
    super('postgres', db, { ...options, translateError: (error) => (isConnectionFailure(error) ? unavailable(error, target) : error) });
  }
}

/** What an error message may say about the server: where it is, never who logged in with what. */
interface PostgresTarget {
  readonly where: string;
  readonly secrets: readonly string[];
}

function targetOf(url: string): PostgresTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new GatehouseError('config_invalid', 'the PostgreSQL store URL is not a valid URL (postgres://user:password@host:port/database)');
  }
  // libpq allows the host in the query string (a socket directory) instead of the authority.
  const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
  const port = parsed.port || parsed.searchParams.get('port') || '5432';
  const secrets = parsed.password === '' ? [] : [parsed.password, decodeURIComponent(parsed.password)];
  const queryPassword = parsed.searchParams.get('password');
  return { where: `${host}:${port}`, secrets: queryPassword === null ? secrets : [...secrets, queryPassword] };
}

function field(error: unknown, name: 'code' | 'message'): string | undefined {
  if (typeof error !== 'object' || error === null || !(name in error)) return undefined;
  const value: unknown = (error as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);
// SQLSTATE 57P01-57P03: the server is shutting down, crashed or starting; 53300: too many connections.
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);
// pg reports a dropped or never-made connection with these messages and no code.
const DROPPED_CONNECTION = /Connection terminated|timeout exceeded when trying to connect|connection error|not queryable/i;

function isConnectionFailure(error: unknown): boolean {
  if (error instanceof GatehouseError) return false;
  const code = field(error, 'code');
  if (code !== undefined && (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith('08'))) return true;
  return code === undefined && DROPPED_CONNECTION.test(field(error, 'message') ?? '');
}

function unavailable(error: unknown, target: PostgresTarget): GatehouseError {
  // Node reports a refused connection to a name with several addresses as an AggregateError whose
  // message is empty; its code still says what happened.
  let reason = field(error, 'message') ?? field(error, 'code') ?? 'connection failed';
  for (const secret of target.secrets) if (secret !== '') reason = reason.split(secret).join('***');
  return new GatehouseError('store_unavailable', `${target.where}: ${reason}`);
}

// A database that does not answer fails the open (and each query) within this, rather than hanging.
const CONNECT_TIMEOUT_MS = 10_000;

/** Connects, proves the connection with one round trip, and migrates to the newest schema. */
export async function openPostgresStore(url: string, options: StoreOptions = {}): Promise<PostgresStore> {
  const target = targetOf(url);
  // Loaded here for the same reason as better-sqlite3 in store-sqlite.ts: only a gateway that uses
  // PostgreSQL pays for loading its driver.
  const { default: pg } = await import('pg');
  const pool: Pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'gatehouse' });
  // A connection the server drops emits `error`: on the pool while idle, on the client while checked
  // out. Unhandled, either event ends the process. The query in flight rejects with the same error
  // (reported as store_unavailable), and the pool discards the broken client when it comes back.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    // Any failure to connect, including a refused login or a missing database, is reported the same way.
    throw unavailable(error, target);
  }
  const db = new Kysely<RegistryTables>({ dialect: new PostgresDialect({ pool }) });
  const store = new PostgresStore(db, target, options);
  try {
    await migrateToLatest(db, 'postgres');
  } catch (error) {
    await store.close();
    throw isConnectionFailure(error) ? unavailable(error, target) : error;
  }
  return store;
}
