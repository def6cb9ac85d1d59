import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomToken } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import {
  DISCOVER_METHOD,
  MODERN_REVISIONS,
  MetaKey,
  ModernErrorCode,
  buildDiscoverResult,
  checkStandardHeaders,
  classifyInbound,
  hasEnvelopeClaim,
  invalidEnvelope,
  isModernRevision,
  methodNotFoundOnModernEra,
  readRequestMeta,
  toModernErrorCode,
  toModernResult,
  unsupportedProtocolVersion,
  type ModernError,
} from '../protocol/eras/index.js';
import { Method, serialiseOutcome, type JsonRpcMessage, type JsonRpcRequest, type Params, type RequestOutcome } from '../protocol/index.js';
import { ClientSession, type SessionStore, type SessionView } from '../session/index.js';
import { GATEWAY_INFO, type MessageHandler, type RelayHooks } from './message-handler.js';

/** Methods the 2026-07-28 revision removed; a modern request naming them is 404 / -32601. */
const REMOVED_METHODS = new Set<string>([
  Method.initialize,
  Method.ping,
  Method.loggingSetLevel,
  Method.resourcesSubscribe,
  Method.resourcesUnsubscribe,
]);

const LIST_CHANGED_FILTER: Record<string, string> = {
  [Method.toolsListChanged]: 'toolsListChanged',
  [Method.promptsListChanged]: 'promptsListChanged',
  [Method.resourcesListChanged]: 'resourcesListChanged',
};

/** Does this POST body (or its header) claim the 2026-07-28 revision? Cheap: checked on every POST. */
export function claimsModernEra(request: IncomingMessage, body: unknown): boolean {
  if (isModernRevision(request.headers['mcp-protocol-version'])) return true;
  return typeof body === 'object' && body !== null && hasEnvelopeClaim((body as { params?: unknown }).params);
}

function paramHeadersOf(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.startsWith('mcp-param-') && value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The 2026-07-28 side of the Streamable HTTP endpoint (docs/protocol-eras.md §2-§6): no session and no
 * handshake; each POST carries its version and capabilities in `_meta`, is answered by itself, and
 * leaves nothing behind but a call parked for an input_required retry.
 */
export class ModernHttpFrontend {
  constructor(
    private readonly handler: MessageHandler,
    private readonly relay: RelayHooks,
    private readonly sessions: SessionStore,
    private readonly logger: Logger,
  ) {}

  /** Returns false when the message turns out to be session-era after all (the caller handles it). */
  async post(request: IncomingMessage, response: ServerResponse, view: SessionView, body: unknown): Promise<boolean> {
    const era = classifyInbound({
      httpMethod: 'POST',
      ...(headerValue(request, 'mcp-protocol-version') !== undefined ? { protocolVersionHeader: headerValue(request, 'mcp-protocol-version')! } : {}),
      ...(headerValue(request, 'mcp-method') !== undefined ? { methodHeader: headerValue(request, 'mcp-method')! } : {}),
      body,
    });
    const id = typeof body === 'object' && body !== null && 'id' in body ? ((body as { id: unknown }).id as string | number) : null;
    if (era.era === 'legacy') return false;
    if (era.era === 'rejected') return this.fail(response, id, era.rejection);
    if (era.kind === 'notification') {
      // No client-to-server notification has a meaning on 2026-07-28 HTTP (cancellation is closing the stream).
      response.writeHead(202).end();
      return true;
    }
    const message = body as JsonRpcRequest;
    const reading = readRequestMeta(message.params);
    if (reading.kind !== 'valid') {
      const detail = reading.kind === 'invalid' ? reading.issues.map((issue) => `${issue.key}: ${issue.problem}`).join('; ') : 'missing';
      return this.fail(response, message.id, invalidEnvelope(detail));
    }
    const meta = reading.meta;
    if (!isModernRevision(meta.protocolVersion)) return this.fail(response, message.id, unsupportedProtocolVersion(MODERN_REVISIONS, meta.protocolVersion));
    const mismatch = checkStandardHeaders(message, meta.protocolVersion, {
      ...(headerValue(request, 'mcp-protocol-version') !== undefined ? { protocolVersion: headerValue(request, 'mcp-protocol-version')! } : {}),
      ...(headerValue(request, 'mcp-method') !== undefined ? { method: headerValue(request, 'mcp-method')! } : {}),
      ...(headerValue(request, 'mcp-name') !== undefined ? { name: headerValue(request, 'mcp-name')! } : {}),
    });
    if (mismatch) return this.fail(response, message.id, mismatch);
    if (REMOVED_METHODS.has(message.method)) return this.fail(response, message.id, methodNotFoundOnModernEra(message.method));

    const exchange = new ModernExchange(response, meta.logLevel !== undefined);
    const session = new ClientSession(`m-${randomToken(9)}`, view, meta.protocolVersion, {
      send: (outgoing: JsonRpcMessage) => exchange.related(outgoing),
      close: () => undefined,
    });
    session.stateless = true;
    session.initialized = true;
    session.clientCapabilities = meta.clientCapabilities;
    if (meta.clientInfo) session.clientInfo = meta.clientInfo as unknown as Params;
    session.logLevel = meta.logLevel;
    if (message.method === Method.toolsCall) session.paramHeaders = paramHeadersOf(request);

    if (message.method === DISCOVER_METHOD) {
      const description = await this.relay.describe(view);
      const result = buildDiscoverResult({
        supportedVersions: MODERN_REVISIONS,
        capabilities: description.capabilities,
        ...(description.instructions !== undefined ? { instructions: description.instructions } : {}),
        serverInfo: { name: GATEWAY_INFO.name, version: GATEWAY_INFO.version },
      });
      exchange.answer(JSON.stringify({ jsonrpc: '2.0', id: message.id, result }));
      return true;
    }
    if (message.method === 'subscriptions/listen') {
      this.listen(session, message, exchange);
      return true;
    }

    response.once('close', () => {
      // Spec 2026-07-28 §Cancellation: closing the response stream cancels the request.
      if (!exchange.done) this.relay.onClientNotification(session, { jsonrpc: '2.0', method: Method.cancelled, params: { requestId: message.id, reason: 'the client closed the stream' } });
    });
    const outcome = await this.handler.request(session, message);
    this.handler.release(session, false);
    if (outcome === undefined) exchange.answer(undefined);
    else exchange.answer(modernOutcome(message.method, outcome), httpStatusOf(outcome));
    return true;
  }

  /**
   * `subscriptions/listen`: a long-lived stream of list_changed notifications. The stream joins the
   * session store while open, so the router's fan-out reaches it like any session.
   */
  private listen(session: ClientSession, message: JsonRpcRequest, exchange: ModernExchange): void {
    const requested = ((message.params ?? {}).notifications ?? {}) as Params;
    const honoured: Params = {};
    for (const key of ['toolsListChanged', 'promptsListChanged', 'resourcesListChanged']) if (requested[key] === true) honoured[key] = true;
    const subscriptionMeta = { [MetaKey.subscriptionId]: message.id };
    session.channel = {
      send: (outgoing: JsonRpcMessage) => {
        if (!('method' in outgoing)) return;
        const filterKey = LIST_CHANGED_FILTER[outgoing.method];
        if (filterKey === undefined || honoured[filterKey] !== true) return;
        exchange.related({ ...outgoing, params: { ...outgoing.params, _meta: subscriptionMeta } });
      },
      close: () => exchange.end(),
    };
    this.sessions.add(session);
    exchange.related({ jsonrpc: '2.0', method: 'notifications/subscriptions/acknowledged', params: { notifications: honoured, _meta: subscriptionMeta } });
    exchange.response.once('close', () => {
      this.sessions.delete(session.id);
      this.handler.release(session, true);
    });
    this.logger.debug({ filter: honoured }, 'subscriptions/listen opened');
  }

  private fail(response: ServerResponse, id: unknown, failure: ModernError): true {
    const body = JSON.stringify({ jsonrpc: '2.0', id: typeof id === 'string' || typeof id === 'number' ? id : null, error: failure.error });
    response.writeHead(failure.httpStatus, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    return true;
  }
}

/**
 * Errors the 2026-07-28 transport answers with an HTTP status of their own (streamable-http §Server
 * Validation): header, capability and version errors are 400, an unknown method 404. Everything else
 * stays in-band on 200.
 */
function httpStatusOf(outcome: Exclude<RequestOutcome, undefined>): number {
  if (!('error' in outcome)) return 200;
  const code = outcome.error.code;
  if (code === ModernErrorCode.headerMismatch || code === ModernErrorCode.missingRequiredClientCapability || code === ModernErrorCode.unsupportedProtocolVersion) {
    return 400;
  }
  return code === -32601 ? 404 : 200;
}

/** Results get resultType (and cache fields on lists and reads); error codes move to the 2026-07-28 ones. */
function modernOutcome(method: string, outcome: Exclude<RequestOutcome, undefined>): string {
  if ('serialisedResult' in outcome) return serialiseOutcome(outcome); // the router served a modern page
  if ('result' in outcome) {
    const result = toModernResult(method, outcome.result, { serverInfo: { name: GATEWAY_INFO.name, version: GATEWAY_INFO.version } });
    return JSON.stringify({ jsonrpc: '2.0', id: outcome.id, result });
  }
  return JSON.stringify({ ...outcome, error: { ...outcome.error, code: toModernErrorCode(outcome.error.code) } });
}

/**
 * One modern POST: plain JSON when only the answer comes back, an SSE stream once a related
 * notification (progress, a log line the client asked for) must go first. No event ids: 2026-07-28
 * removed resumption.
 */
class ModernExchange {
  done = false;
  private streaming = false;

  constructor(
    readonly response: ServerResponse,
    private readonly wantsLogs: boolean,
  ) {}

  related(message: JsonRpcMessage): void {
    if (this.done || this.response.destroyed) return;
    if ('method' in message && message.method === Method.message && !this.wantsLogs) return;
    if (!this.streaming) {
      this.streaming = true;
      this.response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' });
    }
    this.response.write(`data: ${JSON.stringify(message)}\n\n`);
  }

  answer(data: string | undefined, status = 200): void {
    if (this.done) return;
    this.done = true;
    if (this.response.destroyed) return;
    if (this.streaming) {
      if (data !== undefined) this.response.write(`data: ${data}\n\n`);
      this.response.end();
      return;
    }
    if (data === undefined) {
      this.response.writeHead(202).end();
      return;
    }
    this.response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }).end(data);
  }

  end(): void {
    this.done = true;
    this.response.end();
  }
}
