import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseDuration, verifyAudit, type AuditQuery, type AuditStore } from '../registry/index.js';
import { defineRoute, type AdminRoute, type Reply } from './route.js';

/**
 * The audit trail through the admin API: pages of records with filters, an export as JSON lines
 * (`format=jsonl`: the whole selection, streamed, oldest first), and verification of the hash chains. Records are shown as
 * stored: `arguments` and `result` are the redacted JSON text the hashes cover, so an exported line
 * can be checked again elsewhere.
 */

const TAG = 'audit';

const outcomeSchema = z.enum(['ok', 'error', 'denied', 'unknown', 'pending']);

/** An ISO-8601 time, or a duration meaning that long ago (15m, 24h, 7d). */
export const pointInTimeSchema = z
  .string()
  .refine((value) => parseDuration(value) !== undefined || !Number.isNaN(Date.parse(value)), 'an ISO-8601 time or a duration such as 15m, 24h or 7d (that long ago)')
  .transform((value) => {
    const duration = parseDuration(value);
    return new Date(duration === undefined ? Date.parse(value) : Date.now() - duration).toISOString();
  });

const filterShape = {
  user: z.string().min(1).optional().describe('The caller: an identity subject (API key id, token subject) or user name.'),
  server: z.string().min(1).optional(),
  tool: z.string().min(1).optional().describe('A tool or prompt name (as the server knows it) or a resource URI.'),
  method: z.string().min(1).optional().describe('tools/call, prompts/get, resources/read …, or an admin API change: admin/<HTTP method> <route>, e.g. admin/POST /keys.'),
  outcome: outcomeSchema.optional(),
  since: pointInTimeSchema.optional().describe('Records at or after this: an ISO-8601 time, or a duration meaning that long ago (15m, 24h, 7d).'),
  until: pointInTimeSchema.optional().describe('Records before this (same forms as since).'),
};

export const auditQuerySchema = z.strictObject({
  ...filterShape,
  order: z.enum(['desc', 'asc']).default('desc').describe('desc: newest first (the default); asc: oldest first.'),
  limit: z.coerce.number().int().min(1).max(1000).default(50).describe('Records per page (1..1000).'),
  cursor: z.coerce.number().int().positive().optional().describe('`next` of the previous page.'),
  format: z
    .enum(['json', 'jsonl'])
    .default('json')
    .describe('jsonl: every record the filters select, oldest first, one JSON object a line (application/x-ndjson), streamed; order, limit and cursor do not apply.'),
});

export const auditRecordSchema = z.object({
  id: z.number().int(),
  replicaId: z.string().describe('The gateway replica whose hash chain holds the record.'),
  seq: z.number().int().nullable().describe('Place in its replica\'s chain; null while an intent has no outcome.'),
  prevHash: z.string().nullable(),
  hash: z.string().nullable().describe('sha256 of prevHash and the record\'s content.'),
  at: z.string().describe('When the gateway received the call, ISO-8601 UTC.'),
  requestId: z.string().nullable(),
  sessionId: z.string().nullable(),
  subject: z.string().describe('Who called: API key id, token subject, or anonymous.'),
  user: z.string().nullable(),
  identityKind: z.string(),
  team: z.string().nullable(),
  keyId: z.string().nullable(),
  clientName: z.string().nullable(),
  clientVersion: z.string().nullable(),
  endpoint: z.string().nullable().describe('The endpoint the call came through: /mcp (every server) or /servers/<name>/mcp.'),
  method: z.string(),
  server: z.string().nullable(),
  name: z.string().nullable().describe('Tool or prompt name, or resource URI.'),
  arguments: z.string().nullable().describe('The arguments as redacted JSON text.'),
  outcome: outcomeSchema.describe('ok, error, denied (a policy or a limit refused it), pending (an intent: in flight, or the gateway died during it), unknown (its gateway died during it).'),
  errorCode: z.string().nullable(),
  resultBytes: z.number().int().nullable(),
  isError: z.boolean().nullable(),
  result: z.string().nullable().describe('The result as redacted JSON text, when audit.captureResults is on.'),
  latencyMs: z.number().nullable(),
  upstream: z.string().nullable().describe('The replica that served the call: its endpoint URL (origin and path), or pid:<n> of a stdio process; null when nothing was sent.'),
});

export const auditPageSchema = z.object({ items: z.array(auditRecordSchema), next: z.number().int().optional() });

export const auditVerificationSchema = z.object({
  ok: z.boolean(),
  chains: z.array(
    z.object({
      replicaId: z.string(),
      rows: z.number().int(),
      firstSeq: z.number().int().nullable(),
      head: z.object({ replicaId: z.string(), seq: z.number().int(), hash: z.string() }).nullable().describe('Keep a copy elsewhere: it proves later that no newer rows were removed.'),
    }),
  ),
  problems: z.array(
    z.object({
      replicaId: z.string(),
      seq: z.number().int(),
      id: z.number().int().optional(),
      kind: z.enum(['modified', 'missing', 'broken']),
      detail: z.string(),
    }),
  ),
});

export type AuditRecordView = z.output<typeof auditRecordSchema>;

/** A reply written as a stream of lines rather than one JSON body. */
export interface StreamReply extends Reply {
  readonly stream: { readonly contentType: string; readonly lines: AsyncIterable<string> };
}

export function isStreamReply(reply: Reply): reply is StreamReply {
  return 'stream' in reply;
}

/** Writes a stream reply, waiting for the client to read (a large export never sits in memory whole). */
export async function sendStream(response: ServerResponse, reply: StreamReply): Promise<void> {
  response.writeHead(reply.status, { 'content-type': reply.stream.contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  for await (const line of reply.stream.lines) {
    if (response.destroyed) return;
    if (!response.write(line)) await Promise.race([once(response, 'drain'), once(response, 'close')]);
  }
  response.end();
}

const EXPORT_PAGE = 500;

async function* exportLines(store: AuditStore, filters: Omit<AuditQuery, 'limit' | 'order' | 'cursor'>): AsyncIterable<string> {
  let cursor: number | undefined;
  for (;;) {
    const page = await store.queryAudit({ ...filters, limit: EXPORT_PAGE, order: 'asc', ...(cursor !== undefined ? { cursor } : {}) });
    let text = '';
    for (const record of page.items) text += `${JSON.stringify(record)}\n`;
    if (text !== '') yield text;
    if (page.next === undefined) return;
    cursor = page.next;
  }
}

/** zod leaves absent optional keys out, but exactOptionalPropertyTypes wants them gone rather than undefined. */
function definedOnly<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}

export const auditRoutes: readonly AdminRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/audit',
    operationId: 'listAuditRecords',
    summary: 'Audit records, newest first, with filters',
    description:
      'One record per tools/call, prompts/get and resources/read (and list calls when audit.listCalls is on), refused ones included, ' +
      'and one per admin API change (any method but GET), refused ones included. ' +
      'With format=jsonl, an export: every selected record as JSON lines (application/x-ndjson).',
    tag: TAG,
    query: auditQuerySchema,
    success: { status: 200, description: 'One page of records (format=json), or every selected record a line (format=jsonl).', schema: auditPageSchema },
    handle: async ({ query, deps }) => {
      const { format, order, limit, cursor, ...filters } = query;
      const store = deps.registry.store.audit;
      if (format === 'jsonl') {
        const reply: StreamReply = { status: 200, stream: { contentType: 'application/x-ndjson; charset=utf-8', lines: exportLines(store, definedOnly(filters)) } };
        return reply;
      }
      const page = await store.queryAudit(definedOnly({ ...filters, order, limit, cursor }));
      return { status: 200, body: { items: page.items, ...(page.next !== undefined ? { next: page.next } : {}) } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/audit/verify',
    operationId: 'verifyAuditChains',
    summary: 'Verify the audit hash chains',
    description: 'Recomputes every record\'s hash from where each chain starts; lists records that were changed and gaps where records were deleted.',
    tag: TAG,
    success: { status: 200, description: 'ok is false when any problem was found.', schema: auditVerificationSchema },
    handle: async ({ deps }) => ({ status: 200, body: await verifyAudit(deps.registry.store.audit) }),
  }),
];
