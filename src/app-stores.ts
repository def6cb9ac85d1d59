import { dirname, join, resolve } from 'node:path';
import type { GatehouseConfig } from './config/index.js';
import { openStore, Registry, SealedBox } from './registry/index.js';

/** Where a config's files live: `dataDir` as given (the CLI's --data-dir), else relative to the config file. */
export interface StoreLocation {
  /** The file the config came from; a relative dataDir is taken beside it. */
  configFile?: string;
  /** Overrides `store.url` (the CLI's --store and GATEHOUSE_STORE). */
  storeUrl?: string;
  /** Overrides `dataDir` (the CLI's --data-dir). */
  dataDir?: string;
}

function dataDirOf(config: GatehouseConfig, options: StoreLocation): string {
  return options.dataDir ?? (options.configFile !== undefined ? resolve(dirname(options.configFile), config.dataDir) : config.dataDir);
}

/**
 * The registry a config names: its store (`storeUrl` or `store.url`), with a relative dataDir taken
 * beside the config file rather than the working directory (desktop clients start `gatehouse stdio`
 * from wherever they like, often /). Used by the gateway and by the CLI's offline commands.
 */
export async function openRegistry(
  config: GatehouseConfig,
  options: StoreLocation & { onWarning?: (message: string, detail: Record<string, unknown>) => void } = {},
): Promise<Registry> {
  const store = await openStore(options.storeUrl ?? config.store.url, { dataDir: dataDirOf(config, options) });
  return Registry.open({
    store,
    separator: config.separator,
    defaultStatus: config.registry.defaultStatus,
    stdioRegistration: config.registry.stdioRegistration,
    ...(options.onWarning !== undefined ? { onWarning: options.onWarning } : {}),
  }).catch(async (error: unknown) => {
    await store.close();
    throw error;
  });
}

/**
 * The key that seals users' upstream tokens in the store: connections.secretKey, else
 * GATEHOUSE_SECRET_KEY, else a key file beside the embedded database (created on first start). A
 * memory store forgets its tokens at exit, so its key may too.
 */
export async function openSealedBox(
  config: GatehouseConfig,
  options: StoreLocation,
  warn: (message: string) => void,
): Promise<SealedBox> {
  const configured = config.connections.secretKey ?? process.env.GATEHOUSE_SECRET_KEY;
  if (configured !== undefined && configured !== '') return SealedBox.fromKey(configured);
  const storeUrl = options.storeUrl ?? config.store.url;
  if (storeUrl.startsWith('memory:')) return SealedBox.ephemeral();
  if (storeUrl.startsWith('postgres')) {
    warn('connections.secretKey (or GATEHOUSE_SECRET_KEY) is not set: users\' upstream tokens are sealed with a key file in dataDir, which other replicas do not have');
  }
  return SealedBox.fromKeyFile(join(dataDirOf(config, options), 'secret.key'));
}
