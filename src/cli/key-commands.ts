import type { Command } from 'commander';
import type { z } from 'zod';
import type { issuedKeySchema, KeyItem } from '../admin/index.js';
import type { AdminCliKit, AdminConnectionOptions as KeyConnectionOptions } from './admin-cli-kit.js';
import { loadAdmin, loadApp, loadConfig, loadCore, loadRegistry } from './lazy-modules.js';

/**
 * `gatehouse keys create|list|rotate|revoke`: API keys through a running gateway's admin API, like
 * the other admin commands. A token is printed once, by the command that made it, with a line
 * saying so; `list` never has one to print.
 *
 * The shared plumbing (connection options, the HTTP client, output helpers) lives in
 * admin-commands.ts and is handed in (admin-cli-kit.ts), so that this file does not import the one
 * that registers it.
 */

const SHOWN_ONCE = 'Store the token now: it will not be shown again (the gateway keeps only a hash of it).';

function endpointsText(endpoints: readonly string[] | null): string {
  return endpoints === null ? 'any' : endpoints.join(', ');
}

function keyFields(key: KeyItem): (readonly [string, string | undefined])[] {
  return [
    ['ID', key.id],
    ['Name', key.name],
    ['Roles', key.roles.join(', ')],
    ['Endpoints', endpointsText(key.endpoints)],
    ['Expires', key.expiresAt ?? 'never'],
  ];
}

/** With --json the answer (token included) goes to stdout for scripts; the reminder goes to stderr. */
function printIssued(kit: AdminCliKit, raw: unknown, json: boolean | undefined, fields: (readonly [string, string | undefined])[], token: string): void {
  if (json) {
    kit.printJson(raw);
    process.stderr.write(`${SHOWN_ONCE}\n`);
    return;
  }
  kit.printFields([...fields, ['Token', token]]);
  process.stdout.write(`\n${SHOWN_ONCE}\n`);
}

export function registerKeyCommands(program: Command, kit: AdminCliKit): void {
  const keys = program.command('keys').description('API keys for agents and scripts: create, list, rotate and revoke (through a running gateway).');

  kit
    .connected(keys.command('create').description('Create an API key; its token is printed once'))
    .requiredOption('--name <name>', 'a label for people and logs, e.g. ci-bot')
    .requiredOption('--role <role>', 'a role the key\'s requests carry (repeatable)', kit.collect)
    .option('--server <name>', 'a server or virtual server the key may reach (repeatable; default: any)', kit.collect)
    .option('--expires <when>', 'a duration (90d, 12h, 30m) or an ISO-8601 date or time (default: never)')
    .option(
      '-c, --config <file>',
      'create the key directly in the store of this config, without a running gateway: how the first admin key is made once auth.required is on',
    )
    .action(
      kit.run(async (options: KeyConnectionOptions & { name: string; role: string[]; server?: string[]; expires?: string; config?: string }) => {
        if (options.config !== undefined) {
          const key = await createOffline(options.config, options);
          printIssued(kit, key, options.json, keyFields(key), key.token);
          return;
        }
        const body = {
          name: options.name,
          roles: options.role,
          ...(options.server !== undefined ? { endpoints: options.server } : {}),
          ...(options.expires !== undefined ? { expires: options.expires } : {}),
        };
        const raw = await kit.clientFor(options).call('POST', '/keys', body);
        const { issuedKeySchema } = await loadAdmin();
        const key = kit.expect(issuedKeySchema, raw);
        printIssued(kit, raw, options.json, keyFields(key), key.token);
      }),
    );

  kit.connected(keys.command('list').description('List API keys (never their tokens)')).action(
    kit.run(async (options: KeyConnectionOptions) => {
      const raw = await kit.clientFor(options).call('GET', '/keys');
      const { keyListSchema } = await loadAdmin();
      const { items } = kit.expect(keyListSchema, raw);
      if (options.json) return kit.printJson({ items });
      if (items.length === 0) return void process.stdout.write('no keys\n');
      kit.printTable(
        ['ID', 'NAME', 'STATE', 'ROLES', 'ENDPOINTS', 'EXPIRES', 'LAST USED'],
        items.map((key) => [key.id, key.name, key.state, key.roles.join(','), key.endpoints === null ? 'any' : key.endpoints.join(','), key.expiresAt ?? 'never', key.lastUsedAt ?? '-']),
      );
    }),
  );

  kit
    .connected(keys.command('rotate').description('Replace a key with a new one; both work during the overlap').argument('<id>'))
    .option('--overlap <duration>', 'how long the old key keeps working, e.g. 24h (the default) or 0s')
    .option('--expires <when>', 'when the new key expires (default: the old key\'s lifetime, from now)')
    .action(
      kit.run(async (id: string, options: KeyConnectionOptions & { overlap?: string; expires?: string }) => {
        const body = {
          ...(options.overlap !== undefined ? { overlap: options.overlap } : {}),
          ...(options.expires !== undefined ? { expires: options.expires } : {}),
        };
        const raw = await kit.clientFor(options).call('POST', `/keys/${encodeURIComponent(id)}/rotate`, body);
        const { rotatedKeySchema } = await loadAdmin();
        const key = kit.expect(rotatedKeySchema, raw);
        printIssued(kit, raw, options.json, [...keyFields(key), ['Replaces', `${key.previous.id}, which keeps working until ${key.previous.expiresAt ?? 'revoked'}`]], key.token);
      }),
    );

  kit.connected(keys.command('revoke').description('Revoke a key: its next request fails, on every replica').argument('<id>')).action(
    kit.run(async (id: string, options: KeyConnectionOptions) => {
      await kit.clientFor(options).call('DELETE', `/keys/${encodeURIComponent(id)}`);
      if (options.json) kit.printJson({ revoked: id });
      else process.stdout.write(`revoked ${id}\n`);
    }),
  );
}

/**
 * Whoever can read the config file and write its database administers this gateway already, so the
 * store is written directly (the change log records the actor "cli"). Replicas see the key on its
 * first use, since keys are read from the store on every request.
 */
async function createOffline(
  file: string,
  options: { name: string; role: string[]; server?: string[]; expires?: string },
): Promise<z.output<typeof issuedKeySchema>> {
  const { loadConfigFile } = await loadConfig();
  const config = await loadConfigFile(file);
  const storeUrl = process.env.GATEHOUSE_STORE;
  const { openRegistry } = await loadApp();
  const registry = await openRegistry(config, { configFile: file, ...(storeUrl !== undefined ? { storeUrl } : {}) });
  try {
    const [{ parseDuration }, { GatehouseError }, { issuedKeySchema }] = await Promise.all([loadRegistry(), loadCore(), loadAdmin()]);
    let expires: { expiresInMs?: number; expiresAt?: string } = {};
    if (options.expires !== undefined) {
      const duration = parseDuration(options.expires);
      expires = duration !== undefined ? { expiresInMs: duration } : { expiresAt: options.expires };
    }
    if (options.server !== undefined) {
      // The running gateway checks endpoints against what it serves; offline, the file's names are what is known.
      const known = new Set([...registry.servers().map((record) => record.name), ...registry.virtualServers().map((record) => record.name), ...Object.keys(config.servers), ...Object.keys(config.virtualServers)]);
      const unknown = options.server.filter((name) => !known.has(name));
      if (unknown.length > 0) throw new GatehouseError('server_not_found', `Unknown: ${unknown.join(', ')}.`);
    }
    const issued = await registry.createApiKey({
      name: options.name,
      roles: options.role,
      ...(options.server !== undefined ? { endpoints: options.server } : {}),
      ...expires,
      actor: 'cli',
    });
    return issuedKeySchema.parse({ ...issued.record, token: issued.token, state: 'active' });
  } finally {
    await registry.store.close();
  }
}
