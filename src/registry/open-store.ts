import { isAbsolute, join, resolve } from 'node:path';
import { GatehouseError } from '../core/index.js';
import { MemoryStore } from './store-memory.js';
import { openPostgresStore } from './store-postgres.js';
import type { StoreOptions } from './store-records.js';
import { openSqliteStore } from './store-sqlite.js';
import type { Store } from './store.js';

export interface OpenStoreOptions extends StoreOptions {
  /** Where a relative `sqlite:` path, and the default database file, live. */
  readonly dataDir: string;
}

const ALLOWED = 'memory:, sqlite: (the default file in dataDir), sqlite:<path>, or postgres://user:password@host:port/database';

/** The SQLite file a `sqlite:` URL names; `sqlite:///abs` and `sqlite://rel` are read the way people write them. */
export function sqliteFileOf(url: string, dataDir: string): string {
  let path = url.slice('sqlite:'.length);
  if (path.startsWith('//')) path = path.slice(2);
  if (path === '') return join(dataDir, 'gatehouse.db');
  return isAbsolute(path) ? path : resolve(dataDir, path);
}

/** Opens the store a URL names and migrates it to the newest schema. */
export async function openStore(url: string, options: OpenStoreOptions): Promise<Store> {
  const { dataDir, ...storeOptions } = options;
  if (url === 'memory:') return new MemoryStore(storeOptions);
  if (url.startsWith('sqlite:')) return openSqliteStore(sqliteFileOf(url, dataDir), storeOptions);
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgresStore(url, storeOptions);
  // The URL may carry a password: name only its scheme.
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(url)?.[0] ?? 'a URL without a scheme';
  throw new GatehouseError('config_invalid', `store URL ${JSON.stringify(scheme)} is not supported; use ${ALLOWED}`);
}
