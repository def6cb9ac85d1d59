import { GatehouseError } from '../../core/index.js';
import type { RequestOutcome } from '../../protocol/index.js';
import type { AuditCall, AuditEntry, AuditResult } from '../../registry/index.js';
import type { CallContext, CallTarget } from '../call-context.js';
import type { Filter } from '../filter-chain.js';
import type { AuditWriter, PreparableEntry } from './audit-writer.js';
import type { Redactor } from './redaction.js';

/**
 * The audit filter: the outermost of the pipeline, so that it sees every refusal (policies, limits)
 * as well as every answer. Per call it notes the time, awaits `next()` and queues a small object; the
 * record is prepared (redaction, sizes, JSON) in the writer's batch. The one exception is the intent
 * of a tools/call, written before the call goes upstream so that a crash cannot erase it.
 */

export interface AuditFilterOptions {
  readonly writer: AuditWriter;
  readonly redactor: Redactor;
  /** Also record tools/list, prompts/list, resources/list and resources/templates/list. */
  readonly listCalls: boolean;
  /** Keep the (redacted) result, not only its size. */
  readonly captureResults: boolean;
  /** Write an intent before each tools/call whose tool does not declare itself read-only. */
  readonly intents: boolean;
  /** Arguments and results longer than this (as JSON) are cut, with their size noted. */
  readonly maxFieldBytes: number;
}

const CALL_METHODS = ['tools/call', 'prompts/get', 'resources/read'];
const LIST_METHODS = ['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list'];

/** Refusals by authentication, authorization or limits: recorded as `denied` rather than `error`. */
const DENIAL_CODES: ReadonlySet<string> = new Set(['call_denied', 'forbidden', 'unauthorized', 'insufficient_scope']);
const DENIAL_STATUSES: ReadonlySet<number> = new Set([401, 403, 429]);

export class AuditFilter implements Filter<CallContext, RequestOutcome> {
  readonly name = 'audit';
  private readonly methods: ReadonlySet<string>;
  /** Calls between their start and their outcome here: more than one means intents can share a write. */
  private inFlight = 0;

  constructor(readonly options: AuditFilterOptions) {
    this.methods = new Set(options.listCalls ? [...CALL_METHODS, ...LIST_METHODS] : CALL_METHODS);
  }

  async handle(context: CallContext, next: () => Promise<RequestOutcome>): Promise<RequestOutcome> {
    if (!this.methods.has(context.request.method)) return next();
    const at = Date.now();
    const started = performance.now();
    let intent: Intent | undefined;
    let outcome: RequestOutcome;
    this.inFlight += 1;
    try {
      if (this.options.intents && context.request.method === 'tools/call') intent = await this.writeIntent(context, at);
      outcome = await next();
    } catch (error) {
      await this.options.writer.accept(new CompletedCall(this, context, at, performance.now() - started, undefined, error, intent));
      throw error;
    } finally {
      this.inFlight -= 1;
    }
    const waiting = this.options.writer.accept(new CompletedCall(this, context, at, performance.now() - started, outcome, undefined, intent));
    if (waiting !== undefined) await waiting;
    return outcome;
  }

  /**
   * Durable before it resolves (SQLite: a line in the intent journal; PostgreSQL: a committed insert). A
   * store that cannot take it does not stop the call: the failure is logged and the call is recorded
   * the usual way afterwards.
   */
  private async writeIntent(context: CallContext, at: number): Promise<Intent | undefined> {
    const target = await context.target();
    // Spec 2025-06-18 §Tools, annotations: readOnlyHint says the tool does not modify its environment.
    const annotations = target?.item?.annotations as { readOnlyHint?: unknown } | undefined;
    if (annotations?.readOnlyHint === true) return undefined;
    const call = this.callOf(context, at, target);
    const step = context.trace?.step('audit intent');
    try {
      const written = this.options.writer.intent(call, this.inFlight > 1);
      const id = typeof written === 'number' ? written : await written;
      step?.end();
      return { id, call };
    } catch (error) {
      step?.end('audit_write_failed');
      this.options.writer.logError(error, 'audit: an intent could not be written; the call goes ahead');
      return undefined;
    }
  }

  /** What is known of a call before its outcome, redacted. */
  callOf(context: CallContext, at: number, target: CallTarget | undefined): AuditCall {
    const { session, request } = context;
    const { identity, clientInfo } = session;
    const params = request.params;
    const requested = params?.name ?? params?.uri;
    return {
      replicaId: this.options.writer.replicaId,
      at: new Date(at).toISOString(),
      requestId: String(request.id),
      sessionId: session.id,
      subject: identity.subject,
      user: identity.name ?? null,
      identityKind: identity.kind,
      team: identity.team ?? null,
      keyId: identity.kind === 'api-key' ? identity.subject : null,
      clientName: typeof clientInfo.name === 'string' ? clientInfo.name : null,
      clientVersion: typeof clientInfo.version === 'string' ? clientInfo.version : null,
      endpoint: session.view.kind === 'aggregate' ? '/mcp' : `/servers/${session.view.name}/mcp`,
      method: request.method,
      server: target?.server ?? null,
      name: target?.name ?? (typeof requested === 'string' ? requested : null),
      arguments: this.json(argumentsOf(request.method, params)),
    };
  }

  /** Redacted JSON, cut to maxFieldBytes; null for nothing. */
  json(value: unknown): string | null {
    if (value === undefined) return null;
    const text = JSON.stringify(this.options.redactor.redact(value)) ?? null;
    if (text === null || text.length <= this.options.maxFieldBytes) return text;
    return JSON.stringify({ $truncated: true, bytes: Buffer.byteLength(text), head: text.slice(0, this.options.maxFieldBytes) });
  }

  /** The outcome part of a record. */
  resultOf(method: string, outcome: RequestOutcome, thrown: unknown, latencyMs: number): AuditResult {
    const latency = Math.round(latencyMs * 100) / 100;
    if (thrown !== undefined) {
      const error = thrown instanceof GatehouseError ? thrown : new GatehouseError('internal');
      const denied = DENIAL_CODES.has(error.code) || DENIAL_STATUSES.has(error.httpStatus);
      return failed(denied ? 'denied' : 'error', error.code, latency);
    }
    if (outcome === undefined) return failed('error', 'request_cancelled', latency);
    if ('serialisedResult' in outcome) {
      const result = this.options.captureResults ? this.json(JSON.parse(outcome.serialisedResult)) : null;
      return { outcome: 'ok', errorCode: null, resultBytes: Buffer.byteLength(outcome.serialisedResult), isError: null, result, latencyMs: latency };
    }
    if ('error' in outcome) {
      const reason = (outcome.error.data as { reason?: unknown } | undefined)?.reason;
      const code = typeof reason === 'string' ? reason : String(outcome.error.code);
      return failed(DENIAL_CODES.has(code) ? 'denied' : 'error', code, latency);
    }
    return {
      outcome: 'ok',
      errorCode: null,
      resultBytes: Buffer.byteLength(JSON.stringify(outcome.result)),
      isError: method === 'tools/call' ? outcome.result.isError === true : null,
      result: this.options.captureResults ? this.json(outcome.result) : null,
      latencyMs: latency,
    };
  }
}

function failed(outcome: 'error' | 'denied', errorCode: string, latencyMs: number): AuditResult {
  return { outcome, errorCode, resultBytes: null, isError: null, result: null, latencyMs };
}

interface Intent {
  readonly id: number;
  readonly call: AuditCall;
}

/** What the arguments of a call are: tools/call and prompts/get carry `arguments`; the rest their params. */
function argumentsOf(method: string, params: Record<string, unknown> | undefined): unknown {
  if (params === undefined) return undefined;
  if (method === 'tools/call' || method === 'prompts/get') return params.arguments;
  if (method === 'resources/read') return undefined; // the URI is the record's name
  const { _meta: _ignored, ...rest } = params;
  return Object.keys(rest).length === 0 ? undefined : rest;
}

/** A finished call waiting in the writer's queue; prepared into a record in the batch. */
class CompletedCall implements PreparableEntry {
  constructor(
    private readonly filter: AuditFilter,
    private readonly context: CallContext,
    private readonly at: number,
    private readonly latencyMs: number,
    private readonly outcome: RequestOutcome,
    private readonly thrown: unknown,
    private readonly intent: Intent | undefined,
  ) {}

  get intentId(): number | undefined {
    return this.intent?.id;
  }

  async prepare(): Promise<AuditEntry> {
    const call = this.intent?.call ?? this.filter.callOf(this.context, this.at, await this.context.target());
    const result = this.filter.resultOf(this.context.request.method, this.outcome, this.thrown, this.latencyMs);
    return entryOf(call, result, this.intent?.id, this.context.upstream ?? null);
  }
}

/**
 * The record as one object literal of a fixed shape. `{ ...call, ...result }` of these 22 fields
 * measured ~24 µs a record (V8 falls back to a slow path for spreads this wide), a literal ~0.1 µs.
 */
function entryOf(call: AuditCall, result: AuditResult, intentId: number | undefined, upstream: string | null): AuditEntry {
  return {
    replicaId: call.replicaId,
    at: call.at,
    requestId: call.requestId,
    sessionId: call.sessionId,
    subject: call.subject,
    user: call.user,
    identityKind: call.identityKind,
    team: call.team,
    keyId: call.keyId,
    clientName: call.clientName,
    clientVersion: call.clientVersion,
    endpoint: call.endpoint,
    method: call.method,
    server: call.server,
    name: call.name,
    arguments: call.arguments,
    outcome: result.outcome,
    errorCode: result.errorCode,
    resultBytes: result.resultBytes,
    isError: result.isError,
    result: result.result,
    latencyMs: result.latencyMs,
    upstream,
    intentId,
  };
}
