import { fromClientConfig } from '../config/index.js';
import { GatehouseError, toGatehouseError } from '../core/index.js';
import {
  fromServerJson,
  gatewayClientConfig,
  maskSecrets,
  serverSchema,
  toClientConfig,
  toServerJson,
  type ServerSpec,
  type ServerStatus,
} from '../registry/index.js';
import type { AdminDeps } from './admin-deps.js';
import { endpointOf, serverItem } from './record-views.js';
import { defineRoute, type AdminRoute } from './route.js';
import { exportDocumentSchema, exportQuerySchema, importBodySchema, importResultSchema, type ImportResult } from './schemas.js';

const TAG = 'import and export';

/** One server found in an imported document, before registration. */
interface ImportEntry {
  readonly name: string;
  readonly spec?: unknown;
  /** Set when the document's entry could not be read at all. */
  readonly error?: GatehouseError;
}

function mcpServersEntries(document: unknown, warnings: string[]): ImportEntry[] {
  const list =
    typeof document === 'object' && document !== null && !Array.isArray(document)
      ? ((document as Record<string, unknown>).mcpServers ?? (document as Record<string, unknown>).servers)
      : undefined;
  if (typeof list !== 'object' || list === null || Array.isArray(list)) {
    throw new GatehouseError('invalid_body', 'document: expected {"mcpServers": {...}} (Claude Desktop, Cursor) or {"servers": {...}} (VS Code).', {
      issues: [{ path: 'document', message: 'no mcpServers or servers object' }],
    });
  }
  const { servers } = fromClientConfig(document as Record<string, unknown>) as { servers: Record<string, unknown> };
  return Object.entries(servers).map(([name, spec]) => {
    // VS Code's ${input:...} and Cursor's ${env:...} are resolved by those clients, not by the gateway.
    if (JSON.stringify(spec).includes('${')) warnings.push(`${name}: holds \${...} placeholders the client would have filled; set the real values.`);
    return { name, spec };
  });
}

function serverJsonEntries(document: unknown, options: { preferRemote?: boolean; packageIndex?: number }, warnings: string[]): ImportEntry[] {
  const read = (item: unknown): ImportEntry => {
    const imported = fromServerJson(item, options);
    warnings.push(...imported.warnings.map((warning) => `${imported.name}: ${warning}`));
    return { name: imported.name, spec: imported.spec };
  };
  if (!Array.isArray(document)) return [read(document)];
  // Several documents: one that cannot be read fails alone, like a refused registration.
  return document.map((item, index) => {
    try {
      return read(item);
    } catch (error) {
      const name = typeof item === 'object' && item !== null && 'name' in item && typeof item.name === 'string' ? item.name : `#${index}`;
      return { name, error: toGatehouseError(error) };
    }
  });
}

async function register(
  deps: AdminDeps,
  entries: readonly ImportEntry[],
  status: ServerStatus | undefined,
  renames: Readonly<Record<string, string>>,
  actor: string,
): Promise<ImportResult> {
  const result: ImportResult = { created: [], failed: [], warnings: [] };
  for (const entry of entries) {
    const name = renames[entry.name] ?? entry.name;
    try {
      if (entry.error !== undefined) throw entry.error;
      const record = await deps.registry.createServer(name, entry.spec, actor, status);
      result.created.push(serverItem(deps, record));
    } catch (error) {
      const failure = toGatehouseError(error);
      result.failed.push({ name, error: { ...failure.data, code: failure.code, message: failure.message } });
    }
  }
  for (const from of Object.keys(renames)) {
    if (!entries.some((entry) => entry.name === from)) result.warnings.push(`names.${from}: the document has no server by that name.`);
  }
  return result;
}

function selectedNames(servers: string | undefined): string[] | undefined {
  if (servers === undefined) return undefined;
  return servers
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/**
 * target=direct: each server's own settings, secrets masked (a client config is a file people pass
 * around). Without `servers`, only approved servers: a client should not start what the gateway
 * keeps pending or disabled. Virtual servers have no address of their own and are left out.
 */
function directSpecs(deps: AdminDeps, names: readonly string[] | undefined): Map<string, ServerSpec> {
  const specs = new Map<string, ServerSpec>();
  if (names === undefined) {
    for (const record of deps.registry.servers()) if (record.status === 'approved') specs.set(record.name, maskSecrets(record.spec));
    return specs;
  }
  for (const name of names) {
    const record = deps.registry.server(name);
    if (record === undefined) {
      const reason = deps.registry.virtualServer(name) ? 'is a virtual server, which only the gateway serves (use target=gateway)' : 'does not exist';
      throw new GatehouseError('server_not_found', `"${name.slice(0, 80)}" ${reason}.`, { name: name.slice(0, 80) });
    }
    specs.set(name, maskSecrets(record.spec));
  }
  return specs;
}

/**
 * target=gateway: every served server and virtual server, reached at /servers/<name>/mcp on this
 * gateway, as an HTTP server spec with the record's title, description and tags.
 */
function gatewaySpecs(deps: AdminDeps, names: readonly string[] | undefined): Map<string, ServerSpec> {
  const served = deps.registry.effective();
  const wanted = names ?? [...served.servers.keys(), ...served.virtualServers.keys()].sort((a, b) => a.localeCompare(b));
  const specs = new Map<string, ServerSpec>();
  for (const name of wanted) {
    const described = deps.registry.server(name)?.spec ?? deps.registry.virtualServer(name)?.spec;
    if (described === undefined) throw new GatehouseError('server_not_found', `No server or virtual server "${name.slice(0, 80)}".`, { name: name.slice(0, 80) });
    specs.set(
      name,
      serverSchema.parse({
        url: endpointOf(deps, name),
        tags: described.tags,
        ...(described.title !== undefined ? { title: described.title } : {}),
        ...(described.description !== undefined ? { description: described.description } : {}),
      }),
    );
  }
  return specs;
}

/**
 * server.json describes one server: one named server gives its document, ready to publish; several
 * give the registry API's list shape (`{servers: [{server}], metadata}`), which the import reads back.
 */
function serverJsonExport(specs: ReadonlyMap<string, ServerSpec>, single: boolean): Record<string, unknown> {
  const documents = [...specs].map(([name, spec]) => toServerJson(name, spec));
  if (single && documents.length === 1) return documents[0]!;
  return { servers: documents.map((server) => ({ server })), metadata: { count: documents.length } };
}

export const exchangeRoutes: readonly AdminRoute[] = [
  defineRoute({
    method: 'POST',
    path: '/import',
    operationId: 'importServers',
    summary: 'Register the servers of a client config or of server.json documents',
    description:
      'Each entry is registered like POST /servers (same validation, same stdio policy); one that fails is reported in `failed` ' +
      'and the others are still registered. `document` may be an array of server.json documents.',
    tag: TAG,
    body: importBodySchema,
    success: { status: 200, description: 'What was registered, what failed and why, and what needs the operator.', schema: importResultSchema },
    handle: async ({ body, deps, actor }) => {
      const warnings: string[] = [];
      const options = { ...(body.preferRemote !== undefined ? { preferRemote: body.preferRemote } : {}), ...(body.packageIndex !== undefined ? { packageIndex: body.packageIndex } : {}) };
      const entries = body.format === 'mcpServers' ? mcpServersEntries(body.document, warnings) : serverJsonEntries(body.document, options, warnings);
      const result = await register(deps, entries, body.status, body.names ?? {}, actor);
      return { status: 200, body: { ...result, warnings: [...warnings, ...result.warnings] } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/export',
    operationId: 'exportServers',
    summary: 'A client config (Claude, Cursor, VS Code) or server.json for the registered servers',
    description:
      'target=direct: each server\'s own settings with secrets masked; without `servers`, the approved ones. ' +
      'target=gateway: entries that reach each served server and virtual server through this gateway. ' +
      'format=server.json with one name in `servers` gives that server\'s server.json; otherwise the registry list shape.',
    tag: TAG,
    query: exportQuerySchema,
    success: { status: 200, description: 'The document, ready to save.', schema: exportDocumentSchema },
    errors: ['server_not_found'],
    handle: async ({ query, deps }) => {
      const names = selectedNames(query.servers);
      if (query.format === 'server.json') {
        const specs = query.target === 'gateway' ? gatewaySpecs(deps, names) : directSpecs(deps, names);
        return { status: 200, body: serverJsonExport(specs, names?.length === 1) };
      }
      if (query.target === 'gateway') {
        const endpoints = [...gatewaySpecs(deps, names).keys()].map((name) => ({ name, url: endpointOf(deps, name) }));
        return { status: 200, body: gatewayClientConfig(endpoints, query.format) };
      }
      return { status: 200, body: toClientConfig(Object.fromEntries(directSpecs(deps, names)), query.format) };
    },
  }),
];
