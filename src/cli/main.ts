#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import type { Gateway } from '../app.js';
import { registerAdminCommands } from './admin-commands.js';
import { loadApp, loadConfig, loadRegistry } from './lazy-modules.js';

/**
 * package.json's version, the same string as GATEWAY_VERSION. Read here rather than imported: core/index.js
 * loads undici, and `--help` should not pay for that.
 */
function packageVersion(): string {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return version;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('a port is an integer from 0 to 65535');
  return port;
}

function fail(error: unknown): never {
  process.stderr.write(`gatehouse: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}

/** SIGTERM/SIGINT: drain in-flight calls within the configured deadline, then close upstreams and children. */
function closeOnSignals(gateway: Gateway): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    gateway.logger.info({ signal }, 'shutting down');
    gateway.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

interface StoreOptions {
  store?: string;
  dataDir?: string;
}

const storeOption = [
  '--store <url>',
  'registry database: sqlite:[path], postgres://..., or memory: (default: store.url from the config, or $GATEHOUSE_STORE)',
] as const;
const dataDirOption = ['--data-dir <dir>', 'where the embedded SQLite store lives (default: dataDir from the config; .gatehouse beside the config file)'] as const;

function storeOverrides(options: StoreOptions): { storeUrl?: string; dataDir?: string } {
  const storeUrl = options.store ?? process.env.GATEHOUSE_STORE;
  return { ...(storeUrl ? { storeUrl } : {}), ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}) };
}

const program = new Command()
  .name('gatehouse')
  .description('An MCP gateway and registry: one governed endpoint in front of many MCP servers.')
  .version(packageVersion());

program
  .command('serve')
  .description('Run the gateway over HTTP: Streamable HTTP at /mcp and /servers/<name>/mcp, legacy SSE at /sse.')
  .requiredOption('-c, --config <file>', 'config file: Gatehouse YAML, or a client\'s mcpServers JSON')
  .option('--host <host>', 'address to listen on (default: listen.host from the config, 127.0.0.1)')
  .option('-p, --port <port>', 'port to listen on; 0 picks a free one (default: listen.port, 8080)', parsePort)
  .option('--allow-unauthenticated', 'allow a non-loopback address without authentication (only behind an authenticating proxy)')
  .option(...storeOption)
  .option(...dataDirOption)
  .action(async (options: { config: string; host?: string; port?: number; allowUnauthenticated?: boolean } & StoreOptions) => {
    const { loadConfigFile } = await loadConfig();
    const config = await loadConfigFile(options.config).catch(fail);
    const { Gateway } = await loadApp();
    const gateway = await Gateway.create(config, { configFile: options.config, ...storeOverrides(options) }).catch(fail);
    closeOnSignals(gateway);
    const url = await gateway
      .listen({
        ...(options.host !== undefined ? { host: options.host } : {}),
        ...(options.port !== undefined ? { port: options.port } : {}),
        allowUnauthenticated: options.allowUnauthenticated === true,
      })
      .catch(async (error: unknown) => {
        await gateway.close();
        return fail(error);
      });
    gateway.logger.info({ url, mcp: `${url}/mcp`, admin: gateway.adminUrl, ...gateway.serving, store: gateway.registry.store.kind }, 'gatehouse listening');
  });

program
  .command('stdio')
  .description('Serve one client over stdin/stdout (for desktop clients that spawn servers). Logs go to stderr.')
  .requiredOption('-c, --config <file>', 'config file: Gatehouse YAML, or a client\'s mcpServers JSON')
  .option(...storeOption)
  .option(...dataDirOption)
  .action(async (options: { config: string } & StoreOptions) => {
    const { loadConfigFile } = await loadConfig();
    const config = await loadConfigFile(options.config).catch(fail);
    const { Gateway } = await loadApp();
    const gateway = await Gateway.create(config, { logDestination: 2, configFile: options.config, ...storeOverrides(options) }).catch(fail);
    closeOnSignals(gateway);
    await gateway.serveStdio(process.stdin, process.stdout);
    await gateway.close();
    process.exit(0);
  });

program
  .command('check')
  .description('Validate a config file and print what it declares, or every problem with its path.')
  .requiredOption('-c, --config <file>', 'config file to validate')
  .action(async (options: { config: string }) => {
    const { loadConfigFile } = await loadConfig();
    const config = await loadConfigFile(options.config).catch(fail);
    const { endpointsOf } = await loadRegistry();
    for (const [name, server] of Object.entries(config.servers)) {
      const target = server.transport === 'stdio' ? `${server.command} ${server.args.join(' ')}` : endpointsOf(server).map((endpoint) => endpoint.url).join(' ');
      process.stdout.write(`${name}\t${server.transport}\t${server.enabled ? 'enabled' : 'disabled'}\t${target}\n`);
    }
    for (const [name, virtual] of Object.entries(config.virtualServers)) {
      process.stdout.write(`${name}\tvirtual\t${virtual.enabled ? 'enabled' : 'disabled'}\t${virtual.tools.length} tool, ${virtual.prompts.length} prompt, ${virtual.resources.length} resource selector(s)\n`);
    }
    const counts = [
      `${Object.keys(config.servers).length} server(s)`,
      `${Object.keys(config.virtualServers).length} virtual server(s)`,
      `${config.auth.policies.length} polic${config.auth.policies.length === 1 ? 'y' : 'ies'}`,
      `authentication ${config.auth.required ? 'required' : 'optional'}`,
    ];
    process.stdout.write(`ok: ${counts.join(', ')}\n`);
  });

program
  .command('schema')
  .description('Print the JSON Schema of the config file (for editor completion).')
  .action(async () => {
    const { configJsonSchemaText } = await loadConfig();
    process.stdout.write(configJsonSchemaText());
  });

registerAdminCommands(program);

await program.parseAsync(process.argv);
