import { z } from 'zod';
import { apiKeyGrantSchema, durationSchema, policySchema, serverNameSchema, serverSchema, serverStatusSchema, virtualServerSchema } from '../registry/index.js';

/**
 * The admin API's request and response bodies, described once (CONVENTIONS rule 5): requests are
 * parsed with these schemas, responses are typed by them, and the OpenAPI document is generated from
 * them. Server and virtual-server specs are the registry's own schemas, so the API accepts exactly
 * what the config file accepts.
 */

const isoTime = z.string().describe('ISO-8601 time, UTC.');

// ---- requests -------------------------------------------------------------------------------

const pageLimit = z.coerce.number().int().min(1).max(500).default(50).describe('Items per page (1..500).');

export const listServersQuerySchema = z.strictObject({
  q: z.string().optional().describe('Words to find in names, titles, descriptions, tags and the tools each server listed.'),
  tag: z.string().optional().describe('Only servers carrying this tag.'),
  status: serverStatusSchema.optional(),
  limit: pageLimit,
  cursor: z.string().optional().describe('`nextCursor` of the previous page.'),
});

export const listVirtualServersQuerySchema = z.strictObject({
  limit: pageLimit,
  cursor: z.string().optional().describe('`nextCursor` of the previous page.'),
});

export const eventsQuerySchema = z.strictObject({
  limit: pageLimit,
  before: z.coerce.number().int().positive().optional().describe('`next` of the previous page: only older events.'),
});

export const exportFormatSchema = z.enum(['claude', 'cursor', 'vscode', 'server.json']);
export const exportTargetSchema = z.enum(['direct', 'gateway']);

export const exportQuerySchema = z.strictObject({
  format: exportFormatSchema
    .default('claude')
    .describe('claude and cursor: {"mcpServers": {...}}; vscode: {"servers": {...}}; server.json: the MCP registry\'s server.json, one per server.'),
  target: exportTargetSchema
    .default('direct')
    .describe('direct: each server\'s own settings (secrets masked), servers only; gateway: entries that reach each server and virtual server through this gateway.'),
  servers: z.string().optional().describe('Comma-separated names; all when left out.'),
});

/** `transport` may be left out, as in the config file: the registry's own preprocessing infers it. */
const [stdioSpecSchema, httpSpecSchema] = serverSchema.out.options;
const registrationFields = {
  name: serverNameSchema.describe('Served at /servers/<name>/mcp; tools appear as <name><separator><tool> on /mcp.'),
  status: serverStatusSchema.optional().describe('Defaults to registry.defaultStatus.'),
};

export const createServerBodySchema = z.pipe(
  serverSchema.in,
  z.discriminatedUnion('transport', [stdioSpecSchema.extend(registrationFields), httpSpecSchema.extend(registrationFields)]),
);

export const replaceServerBodySchema = serverSchema;

export const createVirtualServerBodySchema = virtualServerSchema.extend({ name: registrationFields.name });

export const replaceVirtualServerBodySchema = virtualServerSchema;

export const importFormatSchema = z.enum(['mcpServers', 'server.json']);

export const importBodySchema = z.strictObject({
  format: importFormatSchema.describe('mcpServers: Claude Desktop or Cursor {"mcpServers": {...}}, or VS Code {"servers": {...}}; server.json: the MCP registry\'s server.json.'),
  document: z.unknown().describe('The file\'s content, as JSON; for server.json, one document or an array of them.'),
  status: serverStatusSchema.optional().describe('Status of every imported server; defaults to registry.defaultStatus.'),
  names: z.record(z.string(), serverNameSchema).optional().describe('Renames: name in the document → name to register.'),
  preferRemote: z.boolean().optional().describe('server.json: use its remote when it has one (the default); false prefers a package.'),
  packageIndex: z.number().int().min(0).optional().describe('server.json: which of its packages to run.'),
});

const keyExpires = z
  .union([durationSchema, z.iso.datetime({ offset: true }), z.iso.date()])
  .describe('When the key stops working: a duration such as 90d, 12h or 30m (units s, m, h, d, w), an ISO-8601 time, or a date (its first instant, UTC).');

export const createKeyBodySchema = apiKeyGrantSchema.extend({
  expires: keyExpires.optional().describe(`${keyExpires.description} Leave out for a key that does not expire.`),
});

/** Every field may be left out, so an empty body (or none) rotates with the defaults. */
export const rotateKeyBodySchema = z.preprocess(
  (value) => value ?? {},
  z.strictObject({
    overlap: durationSchema.optional().describe('How long the old key keeps working beside the new one: e.g. 24h (the default), or 0s to end it now.'),
    expires: keyExpires.optional().describe(`${keyExpires.description} Default: the old key's lifetime, counted from now.`),
  }),
);

/** A policy as under auth.policies in the config file; its id is given by the gateway. */
export const createPolicyBodySchema = policySchema;

export const replacePolicyBodySchema = policySchema;

// ---- responses ------------------------------------------------------------------------------

export const errorBodySchema = z
  .object({
    error: z.looseObject({
      code: z.string().describe('A stable code from the error catalogue, e.g. name_taken, read_only_record, invalid_body.'),
      message: z.string().describe('What went wrong and what to do.'),
    }),
  })
  .describe('Every failure: a catalogue code, a message, and any detail fields of the error.');

export const runtimeSchema = z
  .object({
    state: z.string(),
    lastError: z.string().optional(),
    circuit: z
      .enum(['closed', 'open', 'half-open'])
      .optional()
      .describe('The circuit breaker: open means calls fail at once for now. With several endpoints: closed while any endpoint\'s is closed.'),
    endpoints: z
      .array(
        z.object({
          url: z.string(),
          weight: z.number(),
          circuit: z.enum(['closed', 'open', 'half-open']),
          down: z.boolean().describe('Its last connection failed; new sessions go to the others while any is up.'),
          healthy: z.boolean().describe('Neither its last connection nor its last health check (healthPath, or a ping) failed.'),
          ewmaMs: z.number().nullable().describe('Moving average of successful calls\' latency (measured only when the server has several endpoints).'),
          inflight: z.number().int().describe('Requests in flight on it.'),
          sessions: z.number().int().describe('Upstream sessions placed on it (the gateway\'s shared one included).'),
          lastError: z.string().optional(),
        }),
      )
      .optional()
      .describe('An HTTP server\'s endpoints (several with `urls`), or a stdio pool\'s processes (`replicas`; `url` is the command and its number), as the balancer sees them.'),
  })
  .nullable()
  .describe('The running connection to this server; null when it is not served (not approved, disabled, or not started yet).');

export const healthSchema = z
  .object({
    uptime24h: z.number().nullable().describe('Share of successful pings over 24 h, 0..1.'),
    avgLatencyMs: z.number().nullable(),
    lastError: z.object({ at: isoTime, message: z.string() }).nullable(),
    lastCheckedAt: isoTime.nullable(),
    checks: z.number().int(),
  })
  .nullable()
  .describe('Health checks (MCP ping) over the last 24 h; null before the first check.');

const learntBase = {
  serverInfo: z.record(z.string(), z.unknown()).nullable(),
  protocolVersion: z.string().nullable(),
  updatedAt: isoTime,
};

export const learntSummarySchema = z
  .object({
    ...learntBase,
    tools: z.number().int(),
    prompts: z.number().int(),
    resources: z.number().int(),
    resourceTemplates: z.number().int(),
  })
  .nullable()
  .describe('What the server said about itself when the gateway last listed it: counts only; null before it was first listed.');

export const toolViewSchema = z
  .looseObject({
    name: z.string(),
    title: z.string().optional(),
    description: z.string().optional(),
    fingerprint: z.string().describe('sha256 of the tool\'s name, title, description, schemas and annotations.'),
    firstSeenAt: isoTime.nullable().describe('When the gateway first saw the tool as it is now.'),
    lastSeenAt: isoTime.nullable(),
    changed: z.boolean().describe('True when the gateway saw this tool with another definition before: read it again before trusting it.'),
  })
  .describe('A tool as the server listed it, with its fingerprint.');

const recordFields = {
  name: z.string(),
  source: z.enum(['file', 'api']).describe('file: declared in the config file; api: registered through this API.'),
  readOnly: z.boolean().describe('Records from the config file cannot be changed through the API.'),
  endpoint: z.string().describe('Where MCP clients reach it through the gateway.'),
  createdAt: isoTime,
  updatedAt: isoTime,
};

export const serverItemSchema = z.object({
  ...recordFields,
  title: z.string().optional(),
  description: z.string().optional(),
  transport: z.enum(['stdio', 'streamable-http', 'sse']),
  tags: z.array(z.string()),
  owner: z.string().optional(),
  status: serverStatusSchema,
  spec: serverSchema.describe('The server\'s settings; header and env values are masked as "***".'),
  runtime: runtimeSchema,
  health: healthSchema,
  learnt: learntSummarySchema,
  matchedTools: z.array(z.string()).optional().describe('With `q`: the tools whose name or description matched.'),
});

export const serverListSchema = z.object({
  items: z.array(serverItemSchema),
  nextCursor: z.string().optional().describe('Pass as `cursor` for the next page; absent on the last page.'),
});

export const learntDetailSchema = z
  .object({
    ...learntBase,
    capabilities: z.record(z.string(), z.unknown()).nullable(),
    instructions: z.string().nullable(),
    tools: z.array(toolViewSchema),
    prompts: z.array(z.record(z.string(), z.unknown())),
    resources: z.array(z.record(z.string(), z.unknown())),
    resourceTemplates: z.array(z.record(z.string(), z.unknown())),
  })
  .nullable();

export const serverDetailSchema = serverItemSchema.omit({ matchedTools: true }).extend({ learnt: learntDetailSchema });

export const toolListSchema = z.object({ items: z.array(toolViewSchema) });

export const virtualServerItemSchema = z.object({
  ...recordFields,
  title: z.string().optional(),
  description: z.string().optional(),
  tags: z.array(z.string()),
  owner: z.string().optional(),
  enabled: z.boolean(),
  spec: virtualServerSchema,
});

export const virtualServerListSchema = z.object({
  items: z.array(virtualServerItemSchema),
  nextCursor: z.string().optional().describe('Pass as `cursor` for the next page; absent on the last page.'),
});

export const importResultSchema = z.object({
  created: z.array(serverItemSchema),
  failed: z.array(z.object({ name: z.string(), error: errorBodySchema.shape.error })),
  warnings: z.array(z.string()),
});

export const exportDocumentSchema = z
  .record(z.string(), z.unknown())
  .describe('The client configuration or server.json document, ready to save as a file.');

export const adminEventSchema = z.object({
  id: z.number().int(),
  at: isoTime,
  actor: z.string(),
  action: z.string().describe('e.g. server.create, server.approve, virtual.delete.'),
  target: z.string(),
  detail: z.record(z.string(), z.unknown()),
});

export const eventListSchema = z.object({
  items: z.array(adminEventSchema),
  next: z.number().int().optional().describe('Pass as `before` for the next (older) page; absent on the last page.'),
});

export const healthListSchema = z.object({
  items: z.array(z.object({ name: z.string(), status: serverStatusSchema, runtime: runtimeSchema, health: healthSchema })),
});

export const statusSchema = z
  .looseObject({
    counts: z.object({
      servers: z.number().int(),
      approved: z.number().int(),
      pending: z.number().int(),
      disabled: z.number().int(),
      virtualServers: z.number().int(),
    }),
  })
  .describe('Gateway-wide facts: version, uptime, sessions, store kind, what is served, counts.');

export const keyItemSchema = z
  .object({
    id: z.string().describe('Public: the middle part of the token, and the subject of requests made with the key.'),
    name: z.string(),
    roles: z.array(z.string()),
    endpoints: z.array(z.string()).nullable().describe('The servers and virtual servers the key may reach; null for any.'),
    state: z.enum(['active', 'expired', 'revoked']),
    createdAt: isoTime,
    expiresAt: isoTime.nullable().describe('null: the key does not expire.'),
    revokedAt: isoTime.nullable(),
    rotatedFrom: z.string().nullable().describe('The id of the key this one replaced.'),
    lastUsedAt: isoTime.nullable().describe('Approximate: recorded at most once a minute per gateway replica.'),
    createdBy: z.string(),
  })
  .describe('An API key, without its secret: Gatehouse keeps only a hash of it.');

export const keyListSchema = z.object({ items: z.array(keyItemSchema).describe('Oldest first, revoked and expired keys included.') });

export const issuedKeySchema = keyItemSchema
  .extend({
    token: z.string().describe('The key itself, shown this once and never again. Clients send it as "Authorization: Bearer <token>".'),
  })
  .describe('A new API key and its token.');

export const rotatedKeySchema = issuedKeySchema
  .extend({ previous: keyItemSchema.describe('The key rotated away from; its expiresAt is now the end of the overlap.') })
  .describe('The new API key, its token, and the key it replaces.');

export const policyItemSchema = z
  .object({
    id: z.string().describe('file-<n> for auth.policies[n] of the config file; pol_… for policies made through this API.'),
    source: recordFields.source,
    readOnly: recordFields.readOnly,
    position: z.number().int().describe('Listing order within its source. Deny wins over allow whatever the order.'),
    createdAt: isoTime,
    updatedAt: isoTime,
    spec: policySchema,
  })
  .describe('A policy: who may use which tools, prompts and resources of which servers, and on what condition.');

export const policyListSchema = z.object({
  items: z.array(policyItemSchema).describe('Every policy in force: the config file\'s first, then the API\'s, each by position.'),
});

export const openApiDocumentSchema = z.record(z.string(), z.unknown()).describe('This document.');

export type ServerItem = z.output<typeof serverItemSchema>;
export type ServerDetail = z.output<typeof serverDetailSchema>;
export type ToolView = z.output<typeof toolViewSchema>;
export type VirtualServerItem = z.output<typeof virtualServerItemSchema>;
export type HealthView = z.output<typeof healthSchema>;
export type RuntimeView = z.output<typeof runtimeSchema>;
export type ImportResult = z.output<typeof importResultSchema>;
export type ErrorBody = z.output<typeof errorBodySchema>;
export type KeyItem = z.output<typeof keyItemSchema>;
export type PolicyItem = z.output<typeof policyItemSchema>;
