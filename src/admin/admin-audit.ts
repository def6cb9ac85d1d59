import type { IncomingMessage } from 'node:http';
import { toGatehouseError, type Identity } from '../core/index.js';
import { MASK, type AuditEntry, type AuditOutcome } from '../registry/index.js';

/**
 * Admin API changes in the audit trail (issue #7): every request that may change something (any
 * method but GET, HEAD and OPTIONS) leaves exactly one record, whether it was carried out or refused,
 * through the same writer and hash chain as the calls. The record fits the call's fields:
 *
 * - `method`: `admin/<HTTP method> <route pattern>`, e.g. `admin/POST /servers/{name}/approve`
 *   (`admin/<method> (no route)` for a path no route serves), so `?method=` finds one kind of change;
 * - `endpoint`: the request's path; `name`: the target (the `{name}`/`{id}` of the path, else the
 *   body's `name`); `server`: that target too when it is a server (`/servers…` routes);
 * - `arguments`: the request body, redacted; `result`: only `{"status":<HTTP status>}`, never the
 *   answer (a created or rotated key's token is in it);
 * - `outcome`: ok below 400, denied for 401/403/429, error otherwise, with the catalogue code.
 */

/** What the admin API needs of the audit trail; app.ts builds it from the audit filter (the API does not import the pipeline). */
export interface AdminAuditTrail {
  readonly replicaId: string;
  /** The value as redacted JSON text, cut to audit.maxFieldBytes; null for undefined. */
  json(value: unknown): string | null;
  /** Queues a finished record; a promise when the queue is full and waits for room (overload `block`). */
  accept(entry: AuditEntry): Promise<void> | undefined;
}

/** One admin request as it ended. */
export interface AdminChange {
  readonly request: IncomingMessage;
  readonly identity: Identity;
  /** The full request path, prefix included. */
  readonly path: string;
  /** The pattern of the route the path names (`/keys/{id}/rotate`), undefined when none does. */
  readonly route: string | undefined;
  readonly params: Readonly<Record<string, string>>;
  /** The body as sent (parsed JSON), undefined when none was read. */
  readonly body: unknown;
  readonly status: number;
  /** What refused or failed the request, when something did. */
  readonly error: unknown;
  /** Date.now() when the request arrived. */
  readonly at: number;
  readonly latencyMs: number;
}

/** No MCP method starts so: MCP methods are `<noun>/<verb>` in lower case. */
const ADMIN_METHOD_PREFIX = 'admin/';
const READ_ONLY_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);
const DENIAL_STATUSES: ReadonlySet<number> = new Set([401, 403, 429]);
/** Paths come from the caller: a record keeps this much of one. */
const MAX_PATH_CHARS = 512;

/** Whether a request may change something, and so is recorded. */
export function isChangeRequest(method: string | undefined): boolean {
  return method !== undefined && !READ_ONLY_METHODS.has(method);
}

/** Whether an audit record is an admin API change rather than a call. */
export function isAdminRecord(record: { readonly method: string }): boolean {
  return record.method.startsWith(ADMIN_METHOD_PREFIX);
}

/** The method field of an admin record: `admin/POST /keys`. */
export function adminMethod(httpMethod: string, route: string | undefined): string {
  return `${ADMIN_METHOD_PREFIX}${httpMethod} ${route ?? '(no route)'}`;
}

/**
 * Writes one change. The trail's queue bounds memory; with overload `block` the request waits for
 * room, as a call would. A record the writer cannot take is its business (it logs and retries).
 */
export function recordAdminChange(trail: AdminAuditTrail, change: AdminChange): Promise<void> | undefined {
  return trail.accept(entryOf(trail, change));
}

function entryOf(trail: AdminAuditTrail, change: AdminChange): AuditEntry {
  const { identity, status } = change;
  const failure = change.error === undefined ? undefined : toGatehouseError(change.error);
  const outcome: AuditOutcome = status < 400 ? 'ok' : DENIAL_STATUSES.has(status) ? 'denied' : 'error';
  const target = targetOf(change);
  return {
    replicaId: trail.replicaId,
    at: new Date(change.at).toISOString(),
    requestId: null,
    sessionId: null,
    subject: identity.subject,
    user: identity.name ?? null,
    identityKind: identity.kind,
    team: identity.team ?? null,
    keyId: identity.kind === 'api-key' ? identity.subject : null,
    clientName: null,
    clientVersion: null,
    endpoint: change.path.slice(0, MAX_PATH_CHARS),
    method: adminMethod(change.request.method ?? 'UNKNOWN', change.route),
    server: change.route?.startsWith('/servers') === true ? target : null,
    name: target,
    arguments: trail.json(maskSpecValues(change.body)),
    outcome,
    errorCode: outcome === 'ok' ? null : (failure?.code ?? `http_${status}`),
    resultBytes: null,
    isError: null,
    result: JSON.stringify({ status }),
    latencyMs: Math.round(change.latencyMs * 100) / 100,
  };
}

/** What the change is about: the path's `{name}` or `{id}`, else the `name` of the body (a registration, a new key). */
function targetOf(change: AdminChange): string | null {
  const fromPath = change.params.name ?? change.params.id ?? Object.values(change.params)[0];
  if (fromPath !== undefined) return fromPath;
  const body = change.body;
  if (typeof body === 'object' && body !== null && 'name' in body && typeof body.name === 'string') return body.name.slice(0, MAX_PATH_CHARS);
  return null;
}

const MAX_DEPTH = 100;

/**
 * Header and environment values of server specs, wherever they sit in a body (a registration, an
 * update, an import), masked the way the API shows them back (`***`): any of them may be a
 * credential whose name the redaction fields do not cover (`DATABASE_URL`, `X-Api-Auth`). The
 * configured redaction runs after this, on everything.
 */
function maskSpecValues(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) return value.map((item) => maskSpecValues(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    const isValueMap = (key === 'headers' || key === 'env') && typeof item === 'object' && item !== null && !Array.isArray(item);
    copy[key] = isValueMap ? Object.fromEntries(Object.keys(item).map((name) => [name, MASK])) : maskSpecValues(item, depth + 1);
  }
  return copy;
}
