import { GatehouseError } from '../core/index.js';
import { MASK, type ServerRecord, type ServerSpec, type ServerStatus } from '../registry/index.js';
import { paginate } from './pagination.js';
import { serverDetail, serverItem, toolViews } from './record-views.js';
import { defineRoute, type AdminRoute } from './route.js';
import {
  createServerBodySchema,
  listServersQuerySchema,
  replaceServerBodySchema,
  serverDetailSchema,
  serverItemSchema,
  serverListSchema,
  toolListSchema,
} from './schemas.js';
import type { AdminDeps } from './admin-deps.js';

const TAG = 'servers';

function existing(deps: AdminDeps, name: string): ServerRecord {
  const record = deps.registry.server(name);
  if (record === undefined) throw new GatehouseError('server_not_found', `No server "${name.slice(0, 80)}".`, { name: name.slice(0, 80) });
  return record;
}

/**
 * A spec read from this API comes back with "***" for header and env values; sent back unchanged in a
 * PUT, those must keep the stored credential, not replace it with the mask.
 */
function keepMaskedSecrets(next: ServerSpec, previous: ServerSpec): ServerSpec {
  const keep = (values: Record<string, string>, before: Record<string, string>): Record<string, string> =>
    Object.fromEntries(Object.entries(values).map(([key, value]) => [key, value === MASK && key in before ? before[key]! : value]));
  if (next.transport === 'stdio') return previous.transport === 'stdio' ? { ...next, env: keep(next.env, previous.env) } : next;
  if (previous.transport === 'stdio') return next;
  const oauth = next.oauth !== undefined && next.oauth.clientSecret === MASK && previous.oauth !== undefined ? { oauth: { ...next.oauth, clientSecret: previous.oauth.clientSecret } } : {};
  return { ...next, headers: keep(next.headers, previous.headers), ...oauth };
}

function statusRoute(action: 'approve' | 'enable' | 'disable', status: ServerStatus, summary: string): AdminRoute {
  return defineRoute({
    method: 'POST',
    path: `/servers/{name}/${action}`,
    operationId: `${action}Server`,
    summary,
    tag: TAG,
    success: { status: 200, description: 'The server with its new status.', schema: serverItemSchema },
    errors: ['server_not_found', 'read_only_record'],
    handle: async ({ params, deps, actor }) => {
      const record = await deps.registry.setServerStatus(params.name!, status, actor);
      return { status: 200, body: serverItem(deps, record) };
    },
  });
}

export const serverRoutes: readonly AdminRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/servers',
    operationId: 'listServers',
    summary: 'List and search servers',
    description: 'Sorted by name. `q` matches every word against names, titles, descriptions, tags and the tools each server listed.',
    tag: TAG,
    query: listServersQuerySchema,
    success: { status: 200, description: 'One page of servers.', schema: serverListSchema },
    handle: async ({ query, deps }) => {
      const hits = deps.registry.search({ text: query.q, tag: query.tag, status: query.status });
      const page = paginate(hits, (hit) => hit.record.name, query.limit, query.cursor);
      const withMatches = query.q !== undefined && query.q.trim() !== '';
      return {
        status: 200,
        body: {
          items: page.items.map((hit) => serverItem(deps, hit.record, withMatches ? hit.matchedTools : undefined)),
          ...(page.nextCursor !== undefined ? { nextCursor: page.nextCursor } : {}),
        },
      };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/servers',
    operationId: 'createServer',
    summary: 'Register a server',
    description:
      'The body is a server spec as in the config file, plus `name` and optionally `status`. Registering a stdio server runs a ' +
      'command on the gateway host: it is refused unless registry.stdioRegistration.enabled, and then only for allowed commands.',
    tag: TAG,
    body: createServerBodySchema,
    success: { status: 201, description: 'The registered server.', schema: serverItemSchema },
    errors: ['name_taken', 'command_not_allowed'],
    handle: async ({ body, deps, actor }) => {
      const { name, status, ...spec } = body;
      const record = await deps.registry.createServer(name, spec, actor, status);
      return { status: 201, body: serverItem(deps, record) };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/servers/{name}',
    operationId: 'getServer',
    summary: 'Show a server',
    description: 'With what the server told the gateway the last time it listed: its identity, capabilities and every tool with its fingerprint.',
    tag: TAG,
    success: { status: 200, description: 'The server.', schema: serverDetailSchema },
    errors: ['server_not_found'],
    handle: async ({ params, deps }) => ({ status: 200, body: await serverDetail(deps, existing(deps, params.name!)) }),
  }),
  defineRoute({
    method: 'PUT',
    path: '/servers/{name}',
    operationId: 'replaceServer',
    summary: 'Replace a server\'s spec',
    description: 'Keeps its status. A header or env value sent as "***" (as this API shows it) keeps the stored value.',
    tag: TAG,
    body: replaceServerBodySchema,
    success: { status: 200, description: 'The server as replaced.', schema: serverItemSchema },
    errors: ['server_not_found', 'read_only_record', 'command_not_allowed'],
    handle: async ({ params, body, deps, actor }) => {
      const name = params.name!;
      const before = existing(deps, name);
      const record = await deps.registry.replaceServer(name, keepMaskedSecrets(body, before.spec), actor);
      return { status: 200, body: serverItem(deps, record) };
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/servers/{name}',
    operationId: 'deleteServer',
    summary: 'Remove a server',
    description: 'Its sessions on /servers/<name>/mcp end; its tools leave /mcp, whose clients get list_changed.',
    tag: TAG,
    success: { status: 204, description: 'Removed.' },
    errors: ['server_not_found', 'read_only_record'],
    handle: async ({ params, deps, actor }) => {
      await deps.registry.deleteServer(params.name!, actor);
      return { status: 204 };
    },
  }),
  statusRoute('approve', 'approved', 'Approve a pending server: it is started and served'),
  statusRoute('enable', 'approved', 'Enable a disabled server (same as approve)'),
  statusRoute('disable', 'disabled', 'Disable a server: it is stopped and no longer served, but kept'),
  defineRoute({
    method: 'GET',
    path: '/servers/{name}/tools',
    operationId: 'listServerTools',
    summary: 'List the tools a server offered when last listed',
    tag: TAG,
    success: { status: 200, description: 'The tools, with their fingerprints.', schema: toolListSchema },
    errors: ['server_not_found'],
    handle: async ({ params, deps }) => {
      const record = existing(deps, params.name!);
      const state = deps.registry.learntState(record.name);
      const tools = state === undefined ? [] : toolViews(state.tools, await deps.registry.store.listFingerprints(record.name));
      return { status: 200, body: { items: tools } };
    },
  }),
];
