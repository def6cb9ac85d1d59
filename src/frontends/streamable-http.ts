import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { GatehouseError, isNewerCredential, samePrincipal, toGatehouseError, type Identity } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import {
  Method,
  allowsBatches,
  errorResponse,
  isRequest,
  isResponse,
  isSupportedRevision,
  primesStreams,
  serialiseOutcome,
  toMessage,
  type JsonRpcMessage,
  type JsonRpcRequest,
  type RequestId,
  type RequestOutcome,
} from '../protocol/index.js';
import type { ClientChannel, ClientSession, SessionStore, SessionView } from '../session/index.js';
import { acceptsJsonAndSse, acceptsSse, isJsonContentType, readJsonBody } from './http-guard.js';
import type { MessageHandler } from './message-handler.js';
import { claimsModernEra, type ModernHttpFrontend } from './modern-http.js';
import { EventStore, SseStream, parseEventId } from './sse-stream.js';
import { clientAddressOf } from './client-address.js';
import { requestIdentity } from './request-identity.js';
import { retryAfterSeconds } from './retry-after.js';

export interface StreamableHttpOptions {
  maxBodyBytes: number;
  maxDepth: number;
  eventStoreSize: number;
  idleTimeoutMs: number;
}

const STANDALONE_STREAM = 0;

/** Writes a catalogue error as an HTTP response with a JSON-RPC error body (one place, rule 6). */
export function writeHttpError(response: ServerResponse, error: unknown, id: RequestId | null = null): void {
  const failure = toGatehouseError(error);
  if (response.headersSent) {
    response.end();
    return;
  }
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  // Past a body limit we stop reading, so the connection cannot be reused.
  if (failure.code === 'body_too_large') headers.connection = 'close';
  response.writeHead(failure.httpStatus, headers).end(JSON.stringify(errorResponse(id, failure.toRpcError())));
}

/**
 * The Streamable HTTP channel of one session: POST exchanges waiting for responses, the standalone
 * GET stream, and the recent events for resumption.
 */
class HttpChannel implements ClientChannel {
  readonly exchanges = new Map<RequestId, PostExchange>();
  readonly liveStreams = new Map<number, SseStream>();
  readonly events: EventStore;
  standalone: SseStream | undefined;
  private nextStreamId = 1;
  closed = false;

  constructor(
    eventStoreSize: number,
    readonly prime: () => boolean,
  ) {
    this.events = new EventStore(eventStoreSize);
  }

  newStreamId(): number {
    return this.nextStreamId++;
  }

  get isIdle(): boolean {
    return this.exchanges.size === 0 && this.standalone?.response === undefined;
  }

  send(message: JsonRpcMessage, relatedTo: RequestId | undefined): void {
    const exchange = relatedTo === undefined ? undefined : this.exchanges.get(relatedTo);
    const data = JSON.stringify(message);
    if (exchange) exchange.related(data);
    else this.standalone?.write(data);
    // With no open stream, a server-initiated message has nowhere to go (spec: the client opens GET to receive them).
  }

  keepAlive(): void {
    this.standalone?.keepAlive();
    for (const stream of this.liveStreams.values()) if (stream !== this.standalone) stream.keepAlive();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.standalone?.end();
    for (const exchange of this.exchanges.values()) exchange.abandon();
    this.exchanges.clear();
  }
}

/**
 * One POST carrying requests. It answers with plain JSON when nothing but the responses comes back
 * (the cheap, common case) and switches to an SSE stream as soon as a related message (progress,
 * a sampling request) must be sent before the response.
 */
class PostExchange {
  private remaining: number;
  private readonly responses: string[] = [];
  private stream: SseStream | undefined;
  private done = false;
  /** Retry-After for a JSON answer made only of errors that say when to retry (rate limits). */
  private retryAfter: number | undefined;
  private onlyRetryable = true;

  constructor(
    private readonly channel: HttpChannel,
    private readonly response: ServerResponse,
    private readonly ids: readonly RequestId[],
    private readonly isBatch: boolean,
  ) {
    this.remaining = ids.length;
  }

  related(data: string): void {
    if (this.done) return;
    this.ensureStream().write(data);
  }

  private ensureStream(): SseStream {
    if (!this.stream) {
      const streamId = this.channel.newStreamId();
      this.stream = new SseStream(streamId, this.channel.events, this.response, () => undefined, this.channel.prime());
      this.channel.liveStreams.set(streamId, this.stream);
      if (this.responses.length > 0) for (const data of this.responses.splice(0)) this.stream.write(data);
    }
    return this.stream;
  }

  answer(outcome: RequestOutcome): void {
    if (this.done) return;
    if (outcome !== undefined) {
      const seconds = retryAfterSeconds(outcome);
      if (seconds === undefined) this.onlyRetryable = false;
      else this.retryAfter = Math.max(this.retryAfter ?? 0, seconds);
      const data = serialiseOutcome(outcome);
      if (this.stream) this.stream.write(data);
      else this.responses.push(data);
    }
    if (--this.remaining === 0) this.finish();
  }

  private finish(): void {
    this.done = true;
    for (const id of this.ids) if (this.channel.exchanges.get(id) === this) this.channel.exchanges.delete(id);
    if (this.stream) {
      this.channel.liveStreams.delete(this.stream.streamId);
      this.stream.end();
      return;
    }
    if (this.response.destroyed) return;
    if (this.responses.length === 0) {
      // Every request was cancelled: nothing to answer (spec §Cancellation).
      this.response.writeHead(202).end();
      return;
    }
    const body = this.isBatch ? `[${this.responses.join(',')}]` : this.responses[0]!;
    // A known length avoids chunked framing: one buffer to write instead of four.
    const retryAfter = this.onlyRetryable && this.retryAfter !== undefined ? { 'retry-after': String(this.retryAfter) } : {};
    this.response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...retryAfter }).end(body);
  }

  /** The session closed under us. */
  abandon(): void {
    this.done = true;
    if (this.stream) this.stream.end();
    else if (!this.response.headersSent) writeHttpError(this.response, new GatehouseError('session_not_found'));
  }

}

/** Streamable HTTP (spec 2025-11-25 §Transports) for one endpoint path, bound to a view. */
export class StreamableHttpFrontend {
  constructor(
    private readonly handler: MessageHandler,
    private readonly sessions: SessionStore,
    private readonly options: StreamableHttpOptions,
    private readonly logger: Logger,
    private readonly modern: ModernHttpFrontend,
  ) {}

  async handle(request: IncomingMessage, response: ServerResponse, view: SessionView): Promise<void> {
    switch (request.method) {
      case 'POST':
        return this.post(request, response, view);
      case 'GET':
        return this.get(request, response, view);
      case 'DELETE':
        return this.delete(request, response, view);
      default:
        response.setHeader('allow', 'GET, POST, DELETE');
        throw new GatehouseError('method_not_allowed');
    }
  }

  private sessionOf(request: IncomingMessage, view: SessionView): ClientSession {
    const id = request.headers['mcp-session-id'];
    if (typeof id !== 'string' || id.length === 0) throw new GatehouseError('session_required');
    const session = this.sessions.get(id);
    // A session is bound to the endpoint that created it; elsewhere it does not exist.
    if (!session || session.view.name !== view.name || !(session.channel instanceof HttpChannel)) throw new GatehouseError('session_not_found');
    // Sessions are not authentication: a session id presented by another principal does not exist for it.
    const identity = requestIdentity(request);
    if (!samePrincipal(session.identity, identity)) throw new GatehouseError('session_not_found');
    if (isNewerCredential(session.identity, identity)) session.identity = identity;
    const version = request.headers['mcp-protocol-version'];
    if (typeof version === 'string' && !isSupportedRevision(version)) {
      throw new GatehouseError('unsupported_protocol_version', `Got "${version.slice(0, 40)}".`);
    }
    return session;
  }

  private async post(request: IncomingMessage, response: ServerResponse, view: SessionView): Promise<void> {
    if (!isJsonContentType(request.headers['content-type'])) throw new GatehouseError('unsupported_media_type');
    if (!acceptsJsonAndSse(request.headers.accept)) throw new GatehouseError('not_acceptable');
    const parsed = await readJsonBody(request, this.options);
    if (Array.isArray(parsed)) return this.postBatch(request, response, view, parsed);
    // A 2026-07-28 request names its revision in _meta (and a header); it has no session.
    if (claimsModernEra(request, parsed) && (await this.modern.post(request, response, view, parsed))) return;
    const message = toMessage(parsed);
    if ('method' in message && message.method === Method.initialize) {
      if (!isRequest(message)) throw new GatehouseError('invalid_request', 'initialize must be a request.');
      if (request.headers['mcp-session-id'] !== undefined) throw new GatehouseError('session_already_initialized');
      return this.initialize(response, view, message, requestIdentity(request), clientAddressOf(request));
    }
    const session = this.sessionOf(request, view);
    this.dispatch(session, [message], response, false, request.headers);
  }

  private postBatch(request: IncomingMessage, response: ServerResponse, view: SessionView, batch: unknown[]): void {
    if (batch.length === 0) throw new GatehouseError('invalid_request', 'An empty batch is not a valid request.');
    const messages = batch.map((item) => toMessage(item));
    if (messages.some((message) => 'method' in message && message.method === Method.initialize)) {
      throw new GatehouseError('invalid_request', 'initialize must not be part of a batch.');
    }
    const session = this.sessionOf(request, view);
    if (!allowsBatches(session.protocolVersion)) throw new GatehouseError('batch_not_supported');
    this.dispatch(session, messages, response, true, request.headers);
  }

  private async initialize(response: ServerResponse, view: SessionView, message: JsonRpcRequest, identity: Identity, clientAddress: string): Promise<void> {
    const channel = new HttpChannel(this.options.eventStoreSize, () => primesStreams(session.protocolVersion));
    const { session, response: result } = await this.handler.initialize(view, message, channel, undefined, identity, clientAddress);
    response.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': session.id }).end(JSON.stringify(result));
  }

  /** `headers`: the POST's, where a client's trace context may be (read by the tracer only). */
  private dispatch(session: ClientSession, messages: JsonRpcMessage[], response: ServerResponse, isBatch: boolean, headers: IncomingHttpHeaders): void {
    const channel = session.channel as HttpChannel;
    const requests: JsonRpcRequest[] = [];
    for (const message of messages) {
      if (isRequest(message)) requests.push(message);
      else if (isResponse(message)) this.handler.response(session, message);
      else this.handler.notification(session, message);
    }
    if (requests.length === 0) {
      response.writeHead(202).end();
      return;
    }
    const exchange = new PostExchange(channel, response, requests.map((item) => item.id), isBatch);
    for (const item of requests) {
      channel.exchanges.set(item.id, exchange);
      this.handler.request(session, item, headers).then(
        (outcome) => {
          // Idle time counts from the last answer, not the last request: a long call is activity.
          session.touch();
          exchange.answer(outcome);
        },
        (error: unknown) => exchange.answer(this.handler.failure(item, error)),
      );
    }
  }

  private get(request: IncomingMessage, response: ServerResponse, view: SessionView): void {
    if (!acceptsSse(request.headers.accept)) throw new GatehouseError('not_acceptable_sse');
    const session = this.sessionOf(request, view);
    const channel = session.channel as HttpChannel;
    session.touch();
    const resumeFrom = parseEventId(request.headers['last-event-id'] as string | undefined);
    if (resumeFrom && resumeFrom.streamId !== STANDALONE_STREAM) {
      const stream = channel.liveStreams.get(resumeFrom.streamId);
      if (stream) {
        stream.attach(response, resumeFrom.seq);
        return;
      }
      // The stream already finished: replay what it carried after the client's last event, then end.
      const replay = new SseStream(resumeFrom.streamId, channel.events, response, () => undefined, false, resumeFrom.seq);
      replay.end();
      return;
    }
    if (channel.standalone?.response !== undefined) throw new GatehouseError('stream_conflict');
    if (channel.standalone) {
      channel.standalone.attach(response, resumeFrom?.seq);
    } else {
      channel.standalone = new SseStream(STANDALONE_STREAM, channel.events, response, () => session.touch(), channel.prime());
    }
  }

  private delete(request: IncomingMessage, response: ServerResponse, view: SessionView): void {
    const session = this.sessionOf(request, view);
    this.handler.close(session);
    response.writeHead(200).end();
  }

  /** SSE comments on every open stream so proxies do not cut idle ones; also reaps idle sessions. */
  tick(now: number): void {
    for (const session of this.sessions.values()) {
      const channel = session.channel;
      if (!(channel instanceof HttpChannel)) continue;
      channel.keepAlive();
      if (channel.isIdle && now - session.lastSeen > this.options.idleTimeoutMs) {
        this.logger.debug({ session: session.id }, 'idle session reaped');
        this.handler.close(session);
      }
    }
  }

  closeAll(): void {
    for (const session of [...this.sessions.values()]) if (session.channel instanceof HttpChannel) this.handler.close(session);
  }
}
