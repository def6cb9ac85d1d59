import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../observability/index.js';
import { MetaKey, checkStandardHeaders, classifyInbound, hasEnvelopeClaim, isModernRevision, type ModernError } from '../protocol/eras/index.js';
import { Method, type JsonRpcMessage, type JsonRpcRequest, type Params } from '../protocol/index.js';
import type { ClientSession, SessionStore, SessionView } from '../session/index.js';
import type { MessageHandler, RelayHooks } from './message-handler.js';
import { ModernRequests, failureAnswer, readModernEnvelope } from './modern-requests.js';
import { clientAddressOf } from './client-address.js';
import { requestIdentity } from './request-identity.js';

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
  private readonly requests: ModernRequests;

  constructor(
    private readonly handler: MessageHandler,
    private readonly relay: RelayHooks,
    private readonly sessions: SessionStore,
    private readonly logger: Logger,
  ) {
    this.requests = new ModernRequests(handler, relay);
  }

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
    const envelope = readModernEnvelope(message);
    if ('failure' in envelope) return this.fail(response, message.id, envelope.failure);
    const meta = envelope.meta;
    const mismatch = checkStandardHeaders(message, meta.protocolVersion, {
      ...(headerValue(request, 'mcp-protocol-version') !== undefined ? { protocolVersion: headerValue(request, 'mcp-protocol-version')! } : {}),
      ...(headerValue(request, 'mcp-method') !== undefined ? { method: headerValue(request, 'mcp-method')! } : {}),
      ...(headerValue(request, 'mcp-name') !== undefined ? { name: headerValue(request, 'mcp-name')! } : {}),
    });
    if (mismatch) return this.fail(response, message.id, mismatch);

    const exchange = new ModernExchange(response, meta.logLevel !== undefined);
    const session = this.requests.session(view, meta, (outgoing: JsonRpcMessage) => exchange.related(outgoing), requestIdentity(request), clientAddressOf(request));
    if (message.method === Method.toolsCall) session.paramHeaders = paramHeadersOf(request);
    if (message.method === 'subscriptions/listen') {
      this.listen(session, message, exchange);
      return true;
    }
    response.once('close', () => {
      // Spec 2026-07-28 §Cancellation: closing the response stream cancels the request.
      if (!exchange.done) this.relay.onClientNotification(session, { jsonrpc: '2.0', method: Method.cancelled, params: { requestId: message.id, reason: 'the client closed the stream' } });
    });
    const answer = await this.requests.answer(session, message, request.headers);
    exchange.answer(answer?.body, answer?.status, answer?.retryAfterSeconds);
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
    const answer = failureAnswer(id, failure);
    response.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer.body) }).end(answer.body);
    return true;
  }
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

  answer(data: string | undefined, status: number | undefined = 200, retryAfterSeconds?: number): void {
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
    const retryAfter = retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) };
    this.response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...retryAfter }).end(data);
  }

  end(): void {
    this.done = true;
    this.response.end();
  }
}
