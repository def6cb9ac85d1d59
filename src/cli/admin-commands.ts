import { readFile, writeFile } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import type { z } from 'zod';
import type { ServerItem, virtualServerItemSchema } from '../admin/index.js';
import type { endpointsOf } from '../registry/index.js';
import type { AdminCliKit } from './admin-cli-kit.js';
import { registerAuditCommands } from './audit-commands.js';
import { registerKeyCommands } from './key-commands.js';
import { registerLimitCommands } from './limit-commands.js';
import { registerPolicyCommands } from './policy-commands.js';
import { registerUsageCommand } from './usage-commands.js';
import { loadAdmin, loadRegistry, loadYaml } from './lazy-modules.js';

/**
 * `gatehouse servers …`, `gatehouse virtual …`, `gatehouse keys …` (key-commands.ts), `gatehouse
 * policies …` (policy-commands.ts), `gatehouse limit …` (limit-commands.ts), `gatehouse audit …` (audit-commands.ts), `gatehouse usage`
 * (usage-commands.ts) and `gatehouse status`: clients of a running gateway's admin API
 * over HTTP. They never open the registry's database themselves (except `keys create --config`), so
 * they work the same against SQLite, PostgreSQL and a gateway on another port, and every change lands
 * in its event log.
 */

const DEFAULT_URL = 'http://127.0.0.1:8080';
/** How long a request may wait for the gateway's answer. */
const ANSWER_TIMEOUT_MS = 60_000;

interface ConnectionOptions {
  gateway?: string;
  url?: string;
  json?: boolean;
}

/** A failure the user can act on: printed as `gatehouse: <message>`, exit status 1. */
class CliFailure extends Error {}

class AdminClient {
  readonly base: string;

  constructor(base: string) {
    this.base = base.replace(/\/+$/, '');
  }

  async call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const response = await this.send(method, path, body, AbortSignal.timeout(ANSWER_TIMEOUT_MS), ANSWER_TIMEOUT_MS);
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : (JSON.parse(text) as unknown);
    } catch {
      throw new CliFailure(`${this.base} answered ${response.status} with something that is not JSON; is it a Gatehouse gateway?`);
    }
    if (!response.ok) throw new CliFailure(apiErrorMessage(response.status, parsed));
    return parsed;
  }

  /**
   * A GET whose answer is read as it arrives (an audit export's JSON lines). `timeoutMs` bounds only
   * the wait for the answer to start, so a long export is not cut off while it flows.
   */
  async open(path: string, timeoutMs = ANSWER_TIMEOUT_MS): Promise<Response> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
    let response: Response;
    try {
      response = await this.send('GET', path, undefined, controller.signal, timeoutMs);
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) throw new CliFailure(apiErrorMessage(response.status, await response.json().catch(() => undefined)));
    return response;
  }

  private async send(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body: unknown, signal: AbortSignal, timeoutMs: number): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = process.env.GATEHOUSE_TOKEN;
    if (token) headers.authorization = `Bearer ${token}`;
    const sendsBody = method === 'POST' || method === 'PUT';
    // The API takes bodies as application/json only (its CSRF defence), even where none is needed.
    if (sendsBody) headers['content-type'] = 'application/json';
    const { ADMIN_API_PREFIX } = await loadAdmin();
    try {
      return await fetch(`${this.base}${ADMIN_API_PREFIX}${path}`, { method, headers, ...(sendsBody ? { body: JSON.stringify(body ?? {}) } : {}), signal });
    } catch (error) {
      throw new CliFailure(unreachableMessage(this.base, error, timeoutMs));
    }
  }
}

function unreachableMessage(base: string, error: unknown, timeoutMs: number): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  const code = cause && 'code' in cause ? String(cause.code) : undefined;
  if (code === 'ECONNREFUSED') {
    return `cannot reach a gateway at ${base} (connection refused). Start one with \`gatehouse serve --config <file>\`, or point at it with --url or GATEHOUSE_URL.`;
  }
  if (error instanceof Error && error.name === 'TimeoutError') return `${base} did not answer within ${timeoutMs / 1000} s.`;
  return `cannot reach a gateway at ${base}: ${cause?.message ?? (error instanceof Error ? error.message : String(error))}`;
}

function apiErrorMessage(status: number, body: unknown): string {
  if (typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'object' && body.error !== null) {
    const { message, code } = body.error as { message?: unknown; code?: unknown };
    if (typeof message === 'string') return typeof code === 'string' ? `${message} (${code})` : message;
  }
  return `the gateway answered HTTP ${status}.`;
}

/** Checks an answer against the API's own schema, so a gateway of another version fails clearly, not oddly. */
function expect<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new CliFailure('the gateway\'s answer is not what this CLI understands; are the CLI and the gateway the same version?');
  return parsed.data;
}

// ---- output ---------------------------------------------------------------------------------

function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Columns padded to their widest cell; the last column is not padded, so lines carry no trailing spaces. */
function printTable(headers: readonly string[], rows: readonly (readonly string[])[], options: { header?: boolean } = {}): void {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  const lines = [...(options.header === false ? [] : [line(headers)]), ...rows.map(line)];
  if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
}

function printFields(fields: readonly (readonly [string, string | undefined])[]): void {
  const shown = fields.filter((field): field is readonly [string, string] => field[1] !== undefined && field[1] !== '');
  const width = Math.max(...shown.map(([label]) => label.length)) + 1;
  process.stdout.write(`${shown.map(([label, value]) => `${`${label}:`.padEnd(width)} ${value}`).join('\n')}\n`);
}

function percent(value: number | null | undefined): string {
  return value === null || value === undefined ? '-' : `${(value * 100).toFixed(1)}%`;
}

function clip(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 3)}...` : text;
}

function targetOf(spec: ServerItem['spec'], endpoints: typeof endpointsOf): string {
  return spec.transport === 'stdio' ? [spec.command, ...spec.args].join(' ') : endpoints(spec).map((endpoint) => endpoint.url).join(' ');
}

// ---- option helpers -------------------------------------------------------------------------

/** For repeatable options; no default, so help shows none. */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function keyValues(pairs: readonly string[], flag: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new CliFailure(`${flag} takes KEY=VALUE; got "${pair}".`);
    result[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return result;
}

/** Every admin command takes the gateway's address and --json. */
function connected(command: Command, urlFlag: '--url' | '--gateway' = '--url'): Command {
  if (urlFlag === '--url') command.option('--url <url>', `the gateway's base URL (default: $GATEHOUSE_URL or ${DEFAULT_URL})`);
  return command
    .option('--gateway <url>', `the gateway's base URL (same as --url${urlFlag === '--gateway' ? ' on other commands' : ''})`)
    .option('--json', 'print the API\'s JSON instead of a table');
}

function clientFor(options: ConnectionOptions, urlIsGateway = true): AdminClient {
  return new AdminClient(options.gateway ?? (urlIsGateway ? options.url : undefined) ?? process.env.GATEHOUSE_URL ?? DEFAULT_URL);
}

/** Runs an action and turns any failure into `gatehouse: <message>` and exit status 1. */
function run<Args extends unknown[]>(action: (...args: Args) => Promise<void>): (...args: Args) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args);
    } catch (error) {
      process.stderr.write(`gatehouse: ${error instanceof Error ? error.message : String(error)}\n`);
      // Not process.exit(): on pipes that are asynchronous (macOS) it would cut off what is still being written.
      process.exitCode = 1;
    }
  };
}

async function readDocument(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliFailure(`cannot read ${file}: ${(error as Error).message}`);
  }
  const { parse: parseYaml } = await loadYaml();
  try {
    // YAML is a superset of JSON: one parser reads spec.yaml, spec.json, mcp.json and server.json.
    return parseYaml(text) as unknown;
  } catch (error) {
    throw new CliFailure(`${file} is not valid JSON or YAML: ${(error as Error).message.split('\n')[0]}`);
  }
}

/** mcpServers (Claude, Cursor), VS Code `servers`, or a registry server.json. */
function detectImportFormat(document: unknown, file: string): 'mcpServers' | 'server.json' {
  if (Array.isArray(document)) return 'server.json';
  if (typeof document === 'object' && document !== null) {
    // The registry API answers with the server.json under `server`.
    if ('server' in document && typeof document.server === 'object') return 'server.json';
    if ('mcpServers' in document || ('servers' in document && typeof document.servers === 'object' && !Array.isArray(document.servers))) return 'mcpServers';
    if ('name' in document && ('packages' in document || 'remotes' in document || 'version' in document)) return 'server.json';
  }
  throw new CliFailure(`cannot tell the format of ${file}; pass --format mcpServers or --format server.json.`);
}

// ---- commands -------------------------------------------------------------------------------

function printServers(items: readonly ServerItem[], withMatches: boolean): void {
  if (items.length === 0) {
    process.stdout.write('no servers\n');
    return;
  }
  const headers = ['NAME', 'STATUS', 'STATE', 'TRANSPORT', 'TOOLS', 'UPTIME', 'SOURCE', 'TAGS', ...(withMatches ? ['MATCHED TOOLS'] : [])];
  printTable(
    headers,
    items.map((item) => [
      item.name,
      item.status,
      item.runtime?.state ?? '-',
      item.transport,
      item.learnt ? String(item.learnt.tools) : '-',
      percent(item.health?.uptime24h),
      item.source,
      item.tags.join(',') || '-',
      ...(withMatches ? [(item.matchedTools ?? []).join(',') || '-'] : []),
    ]),
  );
}

function registerServerCommands(program: Command): void {
  const servers = program.command('servers').description('List, register, approve, disable, import and export servers (through a running gateway).');

  connected(servers.command('list').description('List servers, or search them'))
    .option('--q <text>', 'words to find in names, descriptions, tags and tool descriptions')
    .option('--tag <tag>', 'only servers with this tag')
    .addOption(new Option('--status <status>', 'only servers with this status').choices(['pending', 'approved', 'disabled']))
    .action(
      run(async (options: ConnectionOptions & { q?: string; tag?: string; status?: string }) => {
        const client = clientFor(options);
        const { serverListSchema } = await loadAdmin();
        const items: ServerItem[] = [];
        let cursor: string | undefined;
        do {
          const query = new URLSearchParams({ limit: '500' });
          if (options.q !== undefined) query.set('q', options.q);
          if (options.tag !== undefined) query.set('tag', options.tag);
          if (options.status !== undefined) query.set('status', options.status);
          if (cursor !== undefined) query.set('cursor', cursor);
          const page = expect(serverListSchema, await client.call('GET', `/servers?${query}`));
          items.push(...page.items);
          cursor = page.nextCursor;
        } while (cursor !== undefined);
        if (options.json) printJson({ items });
        else printServers(items, options.q !== undefined);
      }),
    );

  connected(servers.command('show').description('Show a server: settings (secrets masked), state, health and tools').argument('<name>')).action(
    run(async (name: string, options: ConnectionOptions) => {
      const raw = await clientFor(options).call('GET', `/servers/${encodeURIComponent(name)}`);
      if (options.json) return printJson(raw);
      const { serverDetailSchema } = await loadAdmin();
      const { endpointsOf } = await loadRegistry();
      const server = expect(serverDetailSchema, raw);
      const { spec } = server;
      const secrets = spec.transport === 'stdio' ? Object.keys(spec.env) : Object.keys(spec.headers);
      printFields([
        ['Name', server.name],
        ['Title', server.title],
        ['Description', server.description],
        ['Status', server.status],
        ['Source', server.source === 'file' ? 'config file (read-only here)' : 'admin API'],
        ['Transport', server.transport],
        [spec.transport === 'stdio' ? 'Command' : 'URL', targetOf(spec, endpointsOf)],
        [spec.transport === 'stdio' ? 'Env' : 'Headers', secrets.map((key) => `${key}=***`).join(' ')],
        ['Tags', server.tags.join(', ')],
        ['Owner', server.owner],
        ['Endpoint', server.endpoint],
        ['State', server.runtime ? `${server.runtime.state}${server.runtime.lastError ? ` (${server.runtime.lastError})` : ''}` : 'not running'],
        ['Uptime 24h', server.health ? `${percent(server.health.uptime24h)} of ${server.health.checks} checks` : undefined],
        ['Latency', server.health?.avgLatencyMs != null ? `${server.health.avgLatencyMs} ms average` : undefined],
        ['Last error', server.health?.lastError ? `${server.health.lastError.at} ${server.health.lastError.message}` : undefined],
        ['Server', server.learnt?.serverInfo ? `${String(server.learnt.serverInfo.name ?? '?')} ${String(server.learnt.serverInfo.version ?? '')}`.trim() : undefined],
        ['Protocol', server.learnt?.protocolVersion ?? undefined],
        ['Updated', server.updatedAt],
      ]);
      const tools = server.learnt?.tools ?? [];
      if (tools.length > 0) {
        process.stdout.write(`\nTools (${tools.length}):\n`);
        printTable(
          ['NAME', 'FIRST SEEN', 'CHANGED', 'DESCRIPTION'],
          tools.map((tool) => [tool.name, tool.firstSeenAt ?? '-', tool.changed ? 'yes' : 'no', clip((tool.description ?? '').split('\n')[0]!, 80)]),
        );
      }
    }),
  );

  connected(
    servers
      .command('add')
      .description('Register a server: --url for an HTTP server, or --command for a stdio one (when the gateway allows it)')
      .argument('<name>'),
    '--gateway',
  )
    .option('--url <url>', 'the server\'s URL (Streamable HTTP, or legacy SSE with --transport sse)')
    .addOption(new Option('--transport <transport>', 'for --url (default: streamable-http)').choices(['streamable-http', 'sse']))
    .option('--header <K=V>', 'a header sent to the server (repeatable)', collect)
    .option('--command <command>', 'executable of a stdio server (no shell)')
    .option('--arg <arg>', 'an argument of the command (repeatable)', collect)
    .option('--env <K=V>', 'an environment variable of the command (repeatable)', collect)
    .option('--title <title>')
    .option('--description <text>')
    .option('--tag <tag>', 'a tag (repeatable)', collect)
    .addOption(new Option('--status <status>', 'pending or approved (default: the gateway\'s registry.defaultStatus)').choices(['pending', 'approved']))
    .action(
      run(
        async (
          name: string,
          options: ConnectionOptions & {
            transport?: string;
            header?: string[];
            command?: string;
            arg?: string[];
            env?: string[];
            title?: string;
            description?: string;
            tag?: string[];
            status?: string;
          },
        ) => {
          if ((options.url === undefined) === (options.command === undefined)) throw new CliFailure('give either --url (HTTP server) or --command (stdio server).');
          const target =
            options.url !== undefined
              ? { url: options.url, transport: options.transport ?? 'streamable-http', headers: keyValues(options.header ?? [], '--header') }
              : { command: options.command, args: options.arg ?? [], env: keyValues(options.env ?? [], '--env') };
          const body = {
            name,
            ...target,
            ...(options.title !== undefined ? { title: options.title } : {}),
            ...(options.description !== undefined ? { description: options.description } : {}),
            ...(options.tag !== undefined ? { tags: options.tag } : {}),
            ...(options.status !== undefined ? { status: options.status } : {}),
          };
          const raw = await clientFor(options, false).call('POST', '/servers', body);
          if (options.json) return printJson(raw);
          const { serverItemSchema } = await loadAdmin();
          const server = expect(serverItemSchema, raw);
          process.stdout.write(`added ${server.name} (${server.status}); clients reach it at ${server.endpoint}\n`);
        },
      ),
    );

  connected(servers.command('remove').description('Remove a server registered through the API').argument('<name>')).action(
    run(async (name: string, options: ConnectionOptions) => {
      await clientFor(options).call('DELETE', `/servers/${encodeURIComponent(name)}`);
      if (options.json) printJson({ removed: name });
      else process.stdout.write(`removed ${name}\n`);
    }),
  );

  for (const [action, description] of [
    ['enable', 'Serve a disabled server again'],
    ['disable', 'Stop serving a server, but keep it'],
    ['approve', 'Approve a pending server: it is started and served'],
  ] as const) {
    connected(servers.command(action).description(description).argument('<name>')).action(
      run(async (name: string, options: ConnectionOptions) => {
        const raw = await clientFor(options).call('POST', `/servers/${encodeURIComponent(name)}/${action}`);
        if (options.json) return printJson(raw);
        const { serverItemSchema } = await loadAdmin();
        const server = expect(serverItemSchema, raw);
        process.stdout.write(`${server.name}: ${server.status}\n`);
      }),
    );
  }

  connected(
    servers
      .command('import')
      .description('Register the servers of a client config (Claude, Cursor, VS Code) or of a registry server.json')
      .argument('<file>'),
  )
    .addOption(new Option('--format <format>', 'detected from the content when left out').choices(['mcpServers', 'server.json']))
    .addOption(new Option('--status <status>', 'status of every imported server').choices(['pending', 'approved', 'disabled']))
    .action(
      run(async (file: string, options: ConnectionOptions & { format?: 'mcpServers' | 'server.json'; status?: string }) => {
        const document = await readDocument(file);
        const format = options.format ?? detectImportFormat(document, file);
        const raw = await clientFor(options).call('POST', '/import', { format, document, ...(options.status !== undefined ? { status: options.status } : {}) });
        const { importResultSchema } = await loadAdmin();
        const result = expect(importResultSchema, raw);
        if (options.json) printJson(raw);
        else {
          for (const server of result.created) process.stdout.write(`added ${server.name} (${server.status})\n`);
          for (const failure of result.failed) process.stdout.write(`failed ${failure.name}: ${failure.error.message}\n`);
          for (const warning of result.warnings) process.stdout.write(`warning: ${warning}\n`);
          process.stdout.write(`${result.created.length} added, ${result.failed.length} failed\n`);
        }
        if (result.failed.length > 0) throw new CliFailure(`${result.failed.length} server(s) were not imported.`);
      }),
    );

  connected(servers.command('export').description('Print (or write) a client config or server.json for the registered servers'))
    .addOption(new Option('--format <format>', 'document to write').choices(['claude', 'cursor', 'vscode', 'server.json']).default('claude'))
    .addOption(
      new Option('--target <target>', 'direct: each server\'s own address (secrets masked); gateway: through this gateway')
        .choices(['direct', 'gateway'])
        .default('direct'),
    )
    .option('--servers <names>', 'comma-separated names (default: all)')
    .option('--out <file>', 'write to this file instead of stdout')
    .action(
      run(async (options: ConnectionOptions & { format: string; target: string; servers?: string; out?: string }) => {
        const query = new URLSearchParams({ format: options.format, target: options.target });
        if (options.servers !== undefined) query.set('servers', options.servers);
        const document = await clientFor(options).call('GET', `/export?${query}`);
        const text = `${JSON.stringify(document, null, 2)}\n`;
        if (options.out === undefined) {
          process.stdout.write(text);
          return;
        }
        await writeFile(options.out, text, { mode: 0o600 });
        if (!options.json) process.stderr.write(`wrote ${options.out}\n`);
      }),
    );
}

function registerVirtualCommands(program: Command): void {
  const virtual = program.command('virtual').description('Virtual servers: curated endpoints serving a selection of other servers\' tools.');

  connected(virtual.command('list').description('List virtual servers')).action(
    run(async (options: ConnectionOptions) => {
      const client = clientFor(options);
      const { virtualServerListSchema } = await loadAdmin();
      const items: z.output<typeof virtualServerItemSchema>[] = [];
      let cursor: string | undefined;
      do {
        const query = new URLSearchParams({ limit: '500', ...(cursor !== undefined ? { cursor } : {}) });
        const page = expect(virtualServerListSchema, await client.call('GET', `/virtual-servers?${query}`));
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      if (options.json) return printJson({ items });
      if (items.length === 0) return void process.stdout.write('no virtual servers\n');
      printTable(
        ['NAME', 'ENABLED', 'SOURCE', 'TOOLS', 'ENDPOINT'],
        items.map((item) => [item.name, item.enabled ? 'yes' : 'no', item.source, item.spec.tools.map((tool) => `${tool.server}:${tool.name}`).join(',') || '-', item.endpoint]),
      );
    }),
  );

  connected(virtual.command('show').description('Show a virtual server').argument('<name>')).action(
    run(async (name: string, options: ConnectionOptions) => {
      const raw = await clientFor(options).call('GET', `/virtual-servers/${encodeURIComponent(name)}`);
      if (options.json) return printJson(raw);
      const { virtualServerItemSchema } = await loadAdmin();
      const item = expect(virtualServerItemSchema, raw);
      printFields([
        ['Name', item.name],
        ['Title', item.title],
        ['Description', item.description],
        ['Enabled', item.enabled ? 'yes' : 'no'],
        ['Source', item.source === 'file' ? 'config file (read-only here)' : 'admin API'],
        ['Endpoint', item.endpoint],
        ['Tools', item.spec.tools.map((tool) => `${tool.server}:${tool.name}${tool.as ? ` as ${tool.as}` : ''}`).join(', ')],
        ['Prompts', item.spec.prompts.map((prompt) => `${prompt.server}:${prompt.name}`).join(', ')],
        ['Resources', item.spec.resources.map((resource) => `${resource.server}:${resource.uri}`).join(', ')],
        ['Updated', item.updatedAt],
      ]);
    }),
  );

  connected(virtual.command('add').description('Create a virtual server from a spec file').argument('<name>'))
    .requiredOption('--file <file>', 'the virtual server\'s spec, YAML or JSON (as under virtualServers.<name> in the config)')
    .action(
      run(async (name: string, options: ConnectionOptions & { file: string }) => {
        const spec = await readDocument(options.file);
        if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new CliFailure(`${options.file} must hold an object (tools, prompts, resources, ...).`);
        const raw = await clientFor(options).call('POST', '/virtual-servers', { ...spec, name });
        if (options.json) return printJson(raw);
        const { virtualServerItemSchema } = await loadAdmin();
        const item = expect(virtualServerItemSchema, raw);
        process.stdout.write(`added ${item.name}; clients reach it at ${item.endpoint}\n`);
      }),
    );

  connected(virtual.command('remove').description('Remove a virtual server created through the API').argument('<name>')).action(
    run(async (name: string, options: ConnectionOptions) => {
      await clientFor(options).call('DELETE', `/virtual-servers/${encodeURIComponent(name)}`);
      if (options.json) printJson({ removed: name });
      else process.stdout.write(`removed ${name}\n`);
    }),
  );
}

/** Labels for the facts the gateway reports; a fact this CLI does not know is shown under its own key. */
const STATUS_LABELS: Readonly<Record<string, string>> = {
  version: 'Version',
  uptimeSeconds: 'Uptime',
  sessions: 'Sessions',
  store: 'Store',
  servers: 'Serving',
  virtualServers: 'Serving virtual',
  ready: 'Ready',
};

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '-';
  const days = Math.floor(seconds / 86_400);
  const hours = Math.floor((seconds % 86_400) / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  return [days > 0 ? `${days}d` : '', hours > 0 ? `${hours}h` : '', minutes > 0 ? `${minutes}m` : '', `${Math.floor(seconds % 60)}s`].filter(Boolean).join(' ');
}

export function registerAdminCommands(program: Command): void {
  registerServerCommands(program);
  registerVirtualCommands(program);
  const kit: AdminCliKit = {
    connected: (command) => connected(command),
    clientFor: (options) => clientFor(options),
    run,
    expect,
    printJson,
    printTable,
    printFields,
    collect,
    readDocument,
    failure: (message) => new CliFailure(message),
  };
  registerKeyCommands(program, kit);
  registerPolicyCommands(program, kit);
  registerLimitCommands(program, kit);
  registerUsageCommand(program, kit);
  connected(program.command('status').description('Show a running gateway\'s status: version, uptime, sessions, servers')).action(
    run(async (options: ConnectionOptions) => {
      const client = clientFor(options);
      const raw = await client.call('GET', '/status');
      if (options.json) return printJson(raw);
      const { statusSchema } = await loadAdmin();
      const status = expect(statusSchema, raw);
      const { counts, ...facts } = status;
      const text = (value: unknown): string => (Array.isArray(value) ? value.join(', ') || '-' : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value));
      printFields([
        ['Gateway', client.base],
        ...Object.entries(facts).map(([key, value]): [string, string] => [STATUS_LABELS[key] ?? key, key === 'uptimeSeconds' ? duration(Number(value)) : text(value)]),
        ['Servers', `${counts.servers} (${counts.approved} approved, ${counts.pending} pending, ${counts.disabled} disabled)`],
        ['Virtual servers', String(counts.virtualServers)],
      ]);
    }),
  );
  registerAuditCommands(program, kit);
}
