import { GatehouseError } from '../core/index.js';
import { paginate } from './pagination.js';
import { virtualServerItem } from './record-views.js';
import { defineRoute, type AdminRoute } from './route.js';
import {
  createVirtualServerBodySchema,
  listVirtualServersQuerySchema,
  replaceVirtualServerBodySchema,
  virtualServerItemSchema,
  virtualServerListSchema,
} from './schemas.js';

const TAG = 'virtual servers';

export const virtualServerRoutes: readonly AdminRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/virtual-servers',
    operationId: 'listVirtualServers',
    summary: 'List virtual servers',
    tag: TAG,
    query: listVirtualServersQuerySchema,
    success: { status: 200, description: 'One page of virtual servers, sorted by name.', schema: virtualServerListSchema },
    handle: async ({ query, deps }) => {
      const page = paginate(deps.registry.virtualServers(), (record) => record.name, query.limit, query.cursor);
      return {
        status: 200,
        body: {
          items: page.items.map((record) => virtualServerItem(deps, record)),
          ...(page.nextCursor !== undefined ? { nextCursor: page.nextCursor } : {}),
        },
      };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/virtual-servers',
    operationId: 'createVirtualServer',
    summary: 'Create a virtual server',
    description: 'A curated endpoint at /servers/<name>/mcp serving the selected tools, prompts and resources of other servers.',
    tag: TAG,
    body: createVirtualServerBodySchema,
    success: { status: 201, description: 'The virtual server.', schema: virtualServerItemSchema },
    errors: ['name_taken'],
    handle: async ({ body, deps, actor }) => {
      const { name, ...spec } = body;
      const record = await deps.registry.createVirtualServer(name, spec, actor);
      return { status: 201, body: virtualServerItem(deps, record) };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/virtual-servers/{name}',
    operationId: 'getVirtualServer',
    summary: 'Show a virtual server',
    tag: TAG,
    success: { status: 200, description: 'The virtual server.', schema: virtualServerItemSchema },
    errors: ['server_not_found'],
    handle: async ({ params, deps }) => {
      const name = params.name!;
      const record = deps.registry.virtualServer(name);
      if (record === undefined) throw new GatehouseError('server_not_found', `No virtual server "${name.slice(0, 80)}".`, { name: name.slice(0, 80) });
      return { status: 200, body: virtualServerItem(deps, record) };
    },
  }),
  defineRoute({
    method: 'PUT',
    path: '/virtual-servers/{name}',
    operationId: 'replaceVirtualServer',
    summary: 'Replace a virtual server\'s spec',
    tag: TAG,
    body: replaceVirtualServerBodySchema,
    success: { status: 200, description: 'The virtual server as replaced.', schema: virtualServerItemSchema },
    errors: ['server_not_found', 'read_only_record'],
    handle: async ({ params, body, deps, actor }) => {
      const record = await deps.registry.replaceVirtualServer(params.name!, body, actor);
      return { status: 200, body: virtualServerItem(deps, record) };
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/virtual-servers/{name}',
    operationId: 'deleteVirtualServer',
    summary: 'Remove a virtual server',
    description: 'Its sessions end; their clients get 404 and may start over elsewhere.',
    tag: TAG,
    success: { status: 204, description: 'Removed.' },
    errors: ['server_not_found', 'read_only_record'],
    handle: async ({ params, deps, actor }) => {
      await deps.registry.deleteVirtualServer(params.name!, actor);
      return { status: 204 };
    },
  }),
];
