import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { ANONYMOUS, GatehouseError, toGatehouseError } from '../core/index.js';
import { limitRuleReplacementSchema, limitRuleSchema, policySchema, serverSchema, virtualServerSchema } from '../registry/index.js';
import { isChangeRequest, recordAdminChange, type AdminChange } from './admin-audit.js';
import { LOCAL_ACTOR, type AdminDeps } from './admin-deps.js';
import { auditPageSchema, auditRecordSchema, auditRoutes, auditVerificationSchema, isStreamReply, sendStream } from './audit-routes.js';
import { usageReportSchema, usageRoutes } from './usage-routes.js';
import { exchangeRoutes } from './exchange-routes.js';
import { gatewayRoutes } from './gateway-routes.js';
import { keyRoutes } from './key-routes.js';
import { readJsonBody, sendError, sendJson } from './http-io.js';
import { buildOpenApiDocument } from './openapi.js';
import { limitRoutes, limitRuleItemSchema, limitRuleListSchema } from './limit-routes.js';
import { policyRoutes } from './policy-routes.js';
import { compilePath, defineRoute, type AdminRoute, type RouteMatcher } from './route.js';
import {
  createKeyBodySchema,
  createServerBodySchema,
  createVirtualServerBodySchema,
  errorBodySchema,
  eventListSchema,
  exportDocumentSchema,
  healthListSchema,
  importBodySchema,
  importResultSchema,
  issuedKeySchema,
  keyItemSchema,
  keyListSchema,
  openApiDocumentSchema,
  policyItemSchema,
  policyListSchema,
  rotateKeyBodySchema,
  rotatedKeySchema,
  serverDetailSchema,
  serverItemSchema,
  serverListSchema,
  statusSchema,
  toolListSchema,
  virtualServerItemSchema,
  virtualServerListSchema,
} from './schemas.js';
import { serverRoutes } from './server-routes.js';
import { virtualServerRoutes } from './virtual-server-routes.js';

export const ADMIN_API_PREFIX = '/admin/api/v1';

const openApiRoute = defineRoute({
  method: 'GET',
  path: '/openapi.json',
  operationId: 'getOpenApiDocument',
  summary: 'This document',
  tag: 'gateway',
  success: { status: 200, description: 'The OpenAPI 3.1 document of this API.', schema: openApiDocumentSchema },
  handle: async () => ({ status: 200, body: openApiDocument() }),
});

/** Every route the API serves; the OpenAPI document is built from this same list. */
export const adminRoutes: readonly AdminRoute[] = [
  ...serverRoutes,
  ...virtualServerRoutes,
  ...exchangeRoutes,
  ...keyRoutes,
  ...policyRoutes,
  ...limitRoutes,
  ...gatewayRoutes,
  ...auditRoutes,
  ...usageRoutes,
  openApiRoute,
];

let cachedDocument: Record<string, unknown> | undefined;

export function openApiDocument(): Record<string, unknown> {
  cachedDocument ??= buildOpenApiDocument(adminRoutes, {
    prefix: ADMIN_API_PREFIX,
    requestSchemas: new Map<z.ZodType, string>([
      [createServerBodySchema, 'CreateServerRequest'],
      [serverSchema, 'ServerSpecInput'],
      [createVirtualServerBodySchema, 'CreateVirtualServerRequest'],
      [virtualServerSchema, 'VirtualServerSpecInput'],
      [importBodySchema, 'ImportRequest'],
      [createKeyBodySchema, 'CreateApiKeyRequest'],
      [rotateKeyBodySchema, 'RotateApiKeyRequest'],
      [policySchema, 'PolicySpecInput'],
      [limitRuleSchema, 'LimitRuleSpecInput'],
      [limitRuleReplacementSchema, 'LimitRuleReplacementInput'],
    ]),
    responseSchemas: new Map<z.ZodType, string>([
      [serverSchema, 'ServerSpec'],
      [virtualServerSchema, 'VirtualServerSpec'],
      [serverItemSchema, 'Server'],
      [serverListSchema, 'ServerList'],
      [serverDetailSchema, 'ServerDetail'],
      [toolListSchema, 'ToolList'],
      [virtualServerItemSchema, 'VirtualServer'],
      [virtualServerListSchema, 'VirtualServerList'],
      [importResultSchema, 'ImportResult'],
      [exportDocumentSchema, 'ExportDocument'],
      [eventListSchema, 'EventList'],
      [keyItemSchema, 'ApiKey'],
      [keyListSchema, 'ApiKeyList'],
      [issuedKeySchema, 'IssuedApiKey'],
      [rotatedKeySchema, 'RotatedApiKey'],
      [policySchema, 'PolicySpec'],
      [policyItemSchema, 'Policy'],
      [policyListSchema, 'PolicyList'],
      [limitRuleSchema, 'LimitRuleSpec'],
      [limitRuleItemSchema, 'LimitRule'],
      [limitRuleListSchema, 'LimitRuleList'],
      [healthListSchema, 'HealthList'],
      [statusSchema, 'Status'],
      [openApiDocumentSchema, 'OpenApiDocument'],
      [auditRecordSchema, 'AuditRecord'],
      [auditPageSchema, 'AuditPage'],
      [auditVerificationSchema, 'AuditVerification'],
      [usageReportSchema, 'UsageReport'],
    ]),
    errorSchema: errorBodySchema,
    tags: [
      { name: 'servers', description: 'MCP servers in the registry.' },
      { name: 'virtual servers', description: 'Curated endpoints serving a selection of other servers\' tools, prompts and resources.' },
      { name: 'import and export', description: 'Client configurations and server.json documents in and out.' },
      { name: 'keys', description: 'API keys for agents and scripts: created, rotated and revoked here; a token is shown only once.' },
      { name: 'policies', description: 'Who may use which tools, prompts and resources: the config file\'s policies (read-only) and those added here.' },
      { name: 'limits', description: 'Rate limits, quotas and concurrency limits on calls: the config file\'s rules (read-only) and those added here.' },
      { name: 'gateway', description: 'Status, health and the change log.' },
      { name: 'audit', description: 'The audit trail of calls: query, export as JSON lines, verify its hash chains.' },
    ],
  });
  return cachedDocument;
}

/** The document as checked in at schema/openapi.json (`npm run gen:openapi`). */
export function openApiDocumentText(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}

export interface AdminApi {
  readonly prefix: string;
  handle(request: IncomingMessage, response: ServerResponse, path: string, query: URLSearchParams): Promise<void>;
  /**
   * Told of a request the HTTP edge refused before `handle` (credentials, roles, Origin), so that a
   * refused change is recorded too; `startedAt` is performance.now() when the request arrived.
   */
  refused(request: IncomingMessage, path: string, error: unknown, startedAt: number): Promise<void>;
}

interface CompiledRoute {
  readonly route: AdminRoute;
  readonly matcher: RouteMatcher;
}

/**
 * The admin REST API (JSON over HTTP under /admin/api/v1), given to the gateway's HTTP listener as an
 * extra route set. The listener has already checked Origin and Host. Handlers are thin: parse and
 * validate with zod, call the registry, shape the answer; every failure is a catalogue error.
 * Every change request, carried out or refused, is recorded here, once, in the audit trail
 * (admin-audit.ts), so a route added later is covered without doing anything.
 */
export function createAdminApi(deps: AdminDeps): AdminApi {
  const compiled: CompiledRoute[] = adminRoutes.map((route) => ({ route, matcher: compilePath(route.path) }));
  /** The routes serving a path, whatever their method. */
  const routesOf = (subPath: string): { route: AdminRoute; params: Readonly<Record<string, string>> }[] =>
    compiled.flatMap(({ route, matcher }) => {
      const params = matcher.match(subPath);
      return params === undefined ? [] : [{ route, params }];
    });
  const record = async (request: IncomingMessage, change: Omit<AdminChange, 'request' | 'identity' | 'route' | 'params'>, matches: ReturnType<typeof routesOf>): Promise<void> => {
    if (deps.audit === undefined || !isChangeRequest(request.method)) return;
    // A method the path does not take is still named by the path's pattern, so it is found with its kind.
    const match = matches.find(({ route }) => route.method === request.method) ?? matches[0];
    const identity = deps.identityOf?.(request) ?? ANONYMOUS;
    try {
      await recordAdminChange(deps.audit, { ...change, request, identity, route: match?.route.path, params: match?.params ?? {} });
    } catch (error) {
      // The answer has gone out already; a record that could not be made is the operator's to see.
      deps.logger?.error({ err: error, method: request.method, path: change.path }, 'audit: an admin API change could not be recorded');
    }
  };
  return {
    prefix: ADMIN_API_PREFIX,
    async handle(request, response, path, query) {
      const at = Date.now();
      const started = performance.now();
      let headers: Record<string, string> = {};
      const matches = routesOf(path.slice(ADMIN_API_PREFIX.length));
      let body: unknown;
      let status: number;
      let failure: unknown;
      try {
        if (matches.length === 0) throw new GatehouseError('not_found', `No admin API route ${path.slice(ADMIN_API_PREFIX.length) || '/'}; see ${ADMIN_API_PREFIX}/openapi.json.`);
        const match = matches.find(({ route }) => route.method === request.method);
        if (match === undefined) {
          const allowed = matches.map(({ route }) => route.method);
          headers = { allow: allowed.join(', ') };
          throw new GatehouseError('method_not_allowed', `Allowed: ${allowed.join(', ')}.`);
        }
        body = match.route.hasBody ? await readJsonBody(request, deps.maxBodyBytes) : undefined;
        const reply = await match.route.run({ params: match.params, query, body, deps, actor: deps.actorOf?.(request) ?? LOCAL_ACTOR });
        status = reply.status;
        if (isStreamReply(reply)) await sendStream(response, reply);
        else sendJson(response, reply.status, reply.body);
      } catch (error) {
        if (!(error instanceof GatehouseError)) deps.logger?.error({ err: error, method: request.method, path }, 'admin API failure');
        failure = error;
        status = toGatehouseError(error).httpStatus;
        sendError(response, error, headers);
      }
      await record(request, { path, body, status, error: failure, at, latencyMs: performance.now() - started }, matches);
    },
    async refused(request, path, error, startedAt) {
      const latencyMs = performance.now() - startedAt;
      const change = { path, body: undefined, status: toGatehouseError(error).httpStatus, error, at: Date.now() - latencyMs, latencyMs };
      await record(request, change, routesOf(path.slice(ADMIN_API_PREFIX.length)));
    },
  };
}
