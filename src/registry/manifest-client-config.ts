import { placeholderName, type StdioSpec } from './manifest-formats.js';
import { primaryUrlOf, type ServerSpec } from './server-spec.js';

/**
 * Server lists in the formats MCP clients keep them (Claude Desktop, Cursor, VS Code), written from
 * server records or from the gateway's own endpoints. Importing them is config/client-config-import.ts;
 * server.json is manifest-formats.ts. Pure functions: no I/O.
 */

export type ClientFlavour = 'claude' | 'cursor' | 'vscode';

export interface GatewayEndpoint {
  readonly name: string;
  readonly url: string;
  /** Sent on every request, e.g. the gateway credential. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * The server list each client reads:
 * - Claude Desktop, claude_desktop_config.json: `{"mcpServers": {name: {command, args, env}}}`; stdio only.
 * - Cursor, .cursor/mcp.json: `{"mcpServers": {name: {command, args, env} | {url, headers}}}` (cursor.com/docs/mcp).
 * - VS Code, .vscode/mcp.json: `{"servers": {name: {type: "stdio", command, args, env} | {type: "http" | "sse", url, headers}}}`
 *   (code.visualstudio.com/docs/copilot/reference/mcp-configuration).
 * Disabled servers are left out: none of the three has a documented "disabled" field, and a client
 * should not start what the gateway does not serve. None of the formats has a working-directory field,
 * so `cwd` is not exported; titles, descriptions and tags have no place either.
 */
export function toClientConfig(servers: Readonly<Record<string, ServerSpec>>, flavour: ClientFlavour): Record<string, unknown> {
  const entries: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(servers)) {
    if (!spec.enabled) continue;
    entries[name] = spec.transport === 'stdio' ? stdioEntry(spec, flavour) : httpEntry(primaryUrlOf(spec), spec.transport, spec.headers, flavour);
  }
  return wrap(entries, flavour);
}

/** A client config whose entries reach the gateway's own endpoints (Streamable HTTP, /servers/<name>/mcp). */
export function gatewayClientConfig(endpoints: readonly GatewayEndpoint[], flavour: ClientFlavour): Record<string, unknown> {
  const entries: Record<string, unknown> = {};
  for (const endpoint of endpoints) entries[endpoint.name] = httpEntry(endpoint.url, 'streamable-http', endpoint.headers ?? {}, flavour);
  return wrap(entries, flavour);
}

function wrap(entries: Record<string, unknown>, flavour: ClientFlavour): Record<string, unknown> {
  return flavour === 'vscode' ? { servers: entries } : { mcpServers: entries };
}

function stdioEntry(spec: StdioSpec, flavour: ClientFlavour): Record<string, unknown> {
  const entry: Record<string, unknown> = flavour === 'vscode' ? { type: 'stdio' } : {};
  entry.command = spec.command;
  entry.args = [...spec.args];
  if (Object.keys(spec.env).length > 0) entry.env = { ...spec.env };
  return entry;
}

function httpEntry(url: string, transport: 'streamable-http' | 'sse', headers: Readonly<Record<string, string>>, flavour: ClientFlavour): Record<string, unknown> {
  const withHeaders = (entry: Record<string, unknown>): Record<string, unknown> =>
    Object.keys(headers).length > 0 ? { ...entry, headers: { ...headers } } : entry;
  switch (flavour) {
    case 'claude':
      return mcpRemoteEntry(url, transport, headers);
    case 'cursor':
      // Cursor's documented remote entry is `url` (+ `headers`); `type: "sse"` keeps an SSE server SSE.
      return withHeaders(transport === 'sse' ? { type: 'sse', url } : { url });
    case 'vscode':
      return withHeaders({ type: transport === 'sse' ? 'sse' : 'http', url });
  }
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Claude Desktop "will not connect to remote servers configured directly via claude_desktop_config.json"
 * (support.claude.com, "custom connectors via remote MCP servers"): the file holds stdio servers, and
 * remote ones are added under Settings > Connectors. So an HTTP server is written as the `mcp-remote`
 * stdio bridge (github.com/geelen/mcp-remote README: `npx -y mcp-remote <url>`), with its transport
 * pinned (`--transport http-only | sse-only`). Header values go through env (`--header Name:${VAR}`),
 * the README's workaround for clients that mangle spaces in args, which also keeps credentials out of
 * process listings. mcp-remote refuses plain http:// beyond localhost unless given --allow-http.
 */
function mcpRemoteEntry(url: string, transport: 'streamable-http' | 'sse', headers: Readonly<Record<string, string>>): Record<string, unknown> {
  const args = ['-y', 'mcp-remote', url, '--transport', transport === 'sse' ? 'sse-only' : 'http-only'];
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (parsed?.protocol === 'http:' && !LOOPBACK_HOSTS.has(parsed.hostname)) args.push('--allow-http');
  const env: Record<string, string> = {};
  for (const [header, value] of Object.entries(headers)) {
    const variable = `${placeholderName(header)}_HEADER`;
    args.push('--header', `${header}:\${${variable}}`);
    env[variable] = value;
  }
  return Object.keys(env).length > 0 ? { command: 'npx', args, env } : { command: 'npx', args };
}
