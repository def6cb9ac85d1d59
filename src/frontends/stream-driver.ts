import { ANONYMOUS, GatehouseError, isNewerCredential, type Identity } from '../core/index.js';
import { hasEnvelopeClaim } from '../protocol/eras/index.js';
import {
  Method,
  allowsBatches,
  errorResponse,
  isRequest,
  isResponse,
  serialiseOutcome,
  toMessage,
  type JsonRpcMessage,
  type JsonRpcRequest,
} from '../protocol/index.js';
import type { ClientChannel, ClientSession, SessionView } from '../session/index.js';
import type { MessageHandler } from './message-handler.js';
import { failureAnswer, readModernEnvelope, type ModernRequests } from './modern-requests.js';

/**
 * Drives a session whose every outgoing message goes down one stream: the stdio front and the
 * legacy HTTP+SSE front. Replies are written as serialised JSON through `write`.
 */
export class StreamDriver {
  session: ClientSession | undefined;
  private presented: Identity;

  constructor(
    private readonly handler: MessageHandler,
    private readonly view: SessionView,
    private readonly channel: ClientChannel,
    private readonly write: (data: string) => void,
    private readonly sessionId?: string,
    /** Present where the transport serves 2026-07-28 requests too (the stdio front). */
    private readonly modern?: ModernRequests,
    /** Who opened the stream (legacy SSE); the stdio front's one client is the local user. */
    identity: Identity = ANONYMOUS,
    /** The client's address: the stdio front's STDIO_CLIENT, the legacy SSE stream's peer IP. */
    private readonly clientAddress = '',
  ) {
    this.presented = identity;
  }

  /** The identity calls on this stream run as: who opened it, with the newest credential they presented since. */
  get identity(): Identity {
    return this.presented;
  }

  /** The same principal with a newer credential (isNewerCredential) becomes the stream's identity, as on Streamable HTTP. */
  refreshIdentity(identity: Identity): void {
    if (!isNewerCredential(this.presented, identity)) return;
    this.presented = identity;
    if (this.session) this.session.identity = identity;
  }

  /** Handles one parsed JSON value (a message or a batch). */
  async receive(parsed: unknown): Promise<void> {
    if (Array.isArray(parsed)) {
      if (parsed.length === 0) throw new GatehouseError('invalid_request', 'An empty batch is not a valid request.');
      if (!this.session || !allowsBatches(this.session.protocolVersion)) throw new GatehouseError('batch_not_supported');
      const messages = parsed.map((item) => toMessage(item));
      if (messages.some((message) => 'method' in message && message.method === Method.initialize)) {
        throw new GatehouseError('invalid_request', 'initialize must not be part of a batch.');
      }
      const replies = await Promise.all(messages.map((message) => this.one(message, false)));
      const bodies = replies.filter((reply): reply is string => reply !== undefined);
      if (bodies.length > 0) this.write(`[${bodies.join(',')}]`);
      return;
    }
    await this.one(toMessage(parsed), true);
  }

  private async one(message: JsonRpcMessage, writeNow: boolean): Promise<string | undefined> {
    let reply: string | undefined;
    if (isRequest(message)) reply = await this.request(message);
    else if (!this.session) throw new GatehouseError('not_initialized');
    else if (isResponse(message)) this.handler.response(this.session, message);
    else this.handler.notification(this.session, message);
    if (writeNow && reply !== undefined) this.write(reply);
    return reply;
  }

  private async request(request: JsonRpcRequest): Promise<string | undefined> {
    if (this.modern && hasEnvelopeClaim(request.params)) return this.modernRequest(this.modern, request);
    if (request.method === Method.initialize && !this.session) {
      const { session, response } = await this.handler.initialize(this.view, request, this.channel, this.sessionId, this.identity, this.clientAddress);
      this.session = session;
      return JSON.stringify(response);
    }
    if (!this.session) return JSON.stringify(errorResponse(request.id, new GatehouseError('not_initialized').toRpcError()));
    const outcome = await this.handler.request(this.session, request);
    return outcome === undefined ? undefined : serialiseOutcome(outcome);
  }

  /** 2026-07-28 over stdio: the envelope in `_meta` only (no headers), each request on its own. */
  private async modernRequest(modern: ModernRequests, request: JsonRpcRequest): Promise<string | undefined> {
    const envelope = readModernEnvelope(request);
    if ('failure' in envelope) return failureAnswer(request.id, envelope.failure).body;
    const wantsLogs = envelope.meta.logLevel !== undefined;
    const session = modern.session(
      this.view,
      envelope.meta,
      (message) => {
        if (!wantsLogs && 'method' in message && message.method === Method.message) return;
        this.write(JSON.stringify(message));
      },
      this.identity,
      this.clientAddress,
    );
    return (await modern.answer(session, request))?.body;
  }
}
