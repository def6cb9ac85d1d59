import { healthView, runtimeView } from './record-views.js';
import { defineRoute, type AdminRoute } from './route.js';
import { eventListSchema, eventsQuerySchema, healthListSchema, statusSchema } from './schemas.js';

const TAG = 'gateway';

export const gatewayRoutes: readonly AdminRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/status',
    operationId: 'getStatus',
    summary: 'Gateway status',
    tag: TAG,
    success: { status: 200, description: 'Version, uptime, sessions, store, what is served, counts.', schema: statusSchema },
    handle: async ({ deps }) => {
      const servers = deps.registry.servers();
      const count = (status: string): number => servers.filter((record) => record.status === status).length;
      return {
        status: 200,
        body: {
          ...deps.status(),
          counts: {
            servers: servers.length,
            approved: count('approved'),
            pending: count('pending'),
            disabled: count('disabled'),
            virtualServers: deps.registry.virtualServers().length,
          },
        },
      };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/health',
    operationId: 'getHealth',
    summary: 'Health and running state of every server',
    tag: TAG,
    success: { status: 200, description: 'Per server, sorted by name.', schema: healthListSchema },
    handle: async ({ deps }) => {
      const health = deps.health();
      return {
        status: 200,
        body: {
          items: deps.registry.servers().map((record) => ({
            name: record.name,
            status: record.status,
            runtime: runtimeView(deps, record.name),
            health: healthView(health.get(record.name)),
          })),
        },
      };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/events',
    operationId: 'listEvents',
    summary: 'The admin change log, newest first',
    description: 'Every change made through this API: who, when, what, and the spec written (secrets masked).',
    tag: TAG,
    query: eventsQuerySchema,
    success: { status: 200, description: 'One page of events.', schema: eventListSchema },
    handle: async ({ query, deps }) => {
      const page = await deps.registry.store.listAdminEvents({ limit: query.limit, ...(query.before !== undefined ? { before: query.before } : {}) });
      return { status: 200, body: { items: page.items, ...(page.next !== undefined ? { next: page.next } : {}) } };
    },
  }),
];
