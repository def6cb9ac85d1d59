/**
 * Accepts the server lists desktop clients already keep, so a user can point the gateway at them:
 * Claude Desktop and Cursor (`{"mcpServers": {...}}`) and VS Code (`{"servers": {...}}` with `type`).
 */
export function isClientConfigDocument(document: unknown): boolean {
  if (typeof document !== 'object' || document === null) return false;
  if ('mcpServers' in document) return true;
  // VS Code's mcp.json: `servers` whose entries carry `type` and no gatehouse-only keys at the top.
  return 'servers' in document && !('listen' in document) && hasVsCodeEntries((document as { servers: unknown }).servers);
}

function hasVsCodeEntries(servers: unknown): boolean {
  if (typeof servers !== 'object' || servers === null) return false;
  return Object.values(servers).some((entry) => typeof entry === 'object' && entry !== null && 'type' in entry);
}

const transportOfType: Record<string, string> = {
  stdio: 'stdio',
  http: 'streamable-http',
  'streamable-http': 'streamable-http',
  streamableHttp: 'streamable-http',
  sse: 'sse',
};

/** Turns a client's server list into the `servers` block of a Gatehouse config. */
export function fromClientConfig(document: Record<string, unknown>): Record<string, unknown> {
  const source = (document.mcpServers ?? document.servers ?? {}) as Record<string, Record<string, unknown>>;
  const servers: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(source)) {
    if (typeof entry !== 'object' || entry === null) {
      servers[name] = entry;
      continue;
    }
    const { type, disabled, ...rest } = entry;
    const server: Record<string, unknown> = { ...rest };
    if (typeof type === 'string') server.transport = transportOfType[type] ?? type;
    if (disabled === true) server.enabled = false;
    // Cursor and VS Code keep an `envFile`, and VS Code `inputs`; neither has a meaning here.
    delete server.envFile;
    servers[name] = server;
  }
  return { servers };
}
