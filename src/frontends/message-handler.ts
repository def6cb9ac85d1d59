import { ANONYMOUS, GATEWAY_VERSION, GatehouseError, randomToken, toGatehouseError, type Identity } from '../core/index.js';
import type { Logger, RequestTracer, TraceCarrier } from '../observability/index.js';
import { CallContext, type Chain, type TargetResolver } from '../pipeline/index.js';
import {
  Method,
  errorResponse,
  negotiateRevision,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type Params,
  type RequestOutcome,
} from '../protocol/index.js';
import { ClientSession, type ClientChannel, type SessionStore, type SessionView } from '../session/index.js';

/** What the frontends need from the relay behind the pipeline (the router, wired in app.ts). */
export interface RelayHooks {
  describe(view: SessionView): Promise<{ capabilities: Params; instructions?: string; serverInfo?: Params }>;
  onClientNotification(session: ClientSession, notification: JsonRpcNotification): void;
  onClientResponse(session: ClientSession, response: JsonRpcResponse): void;
  closeSession(session: ClientSession, cancelCalls?: boolean): void;
}

export const GATEWAY_INFO = { name: 'gatehouse', title: 'Gatehouse MCP gateway', version: GATEWAY_VERSION } as const;

/**
 * Transport-independent handling of client messages, shared by the Streamable HTTP, legacy SSE and
 * stdio frontends: the initialize handshake, ping, and everything else through the pipeline.
 */
export class MessageHandler {
  constructor(
    private readonly sessions: SessionStore,
    private readonly chain: Chain<CallContext, RequestOutcome>,
    private readonly relay: RelayHooks,
    private readonly logger: Logger,
    /** The endpoint as one caller may see it (roles and policies narrow it); the endpoint itself by default. */
    readonly viewFor: (view: SessionView, identity: Identity) => SessionView = (view) => view,
    private readonly resolveTarget?: TargetResolver,
    /** Starts each request's server span when tracing is on; undefined (no tracing cost at all) when off. */
    private readonly tracer?: RequestTracer,
  ) {}

  /** Spec §Lifecycle: the first request creates the session and settles the revision. */
  async initialize(
    view: SessionView,
    request: JsonRpcRequest,
    channel: ClientChannel,
    sessionId = randomToken(16),
    identity: Identity = ANONYMOUS,
    /** Where the client connects from (see client-address.ts); what limits keyed on `client` count by. */
    clientAddress = '',
  ): Promise<{ session: ClientSession; response: JsonRpcResponse }> {
    const params = request.params ?? {};
    const protocolVersion = negotiateRevision(params.protocolVersion);
    const session = new ClientSession(sessionId, this.viewFor(view, identity), protocolVersion, channel);
    session.identity = identity;
    session.clientAddress = clientAddress;
    session.clientCapabilities = (params.capabilities as Params | undefined) ?? {};
    session.clientInfo = (params.clientInfo as Params | undefined) ?? {};
    const description = await this.relay.describe(session.view);
    this.sessions.add(session);
    this.logger.debug({ session: session.id, view: view.name, protocolVersion, client: session.clientInfo.name }, 'session opened');
    const result: Params = {
      protocolVersion,
      capabilities: description.capabilities,
      serverInfo: description.serverInfo ?? GATEWAY_INFO,
    };
    if (description.instructions !== undefined) result.instructions = description.instructions;
    return { session, response: { jsonrpc: '2.0', id: request.id, result } };
  }

  private inflight = 0;
  private drained: (() => void) | undefined;

  /** Resolves when no request is being answered (for a graceful shutdown). */
  whenDrained(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => (this.drained = resolve));
  }

  /**
   * Answers one request on an initialised session; failures become JSON-RPC errors here, in one place.
   * `carrier`: the HTTP request's headers, where a client's W3C trace context may be (read only when tracing is on).
   */
  async request(session: ClientSession, request: JsonRpcRequest, carrier?: TraceCarrier): Promise<RequestOutcome> {
    session.touch();
    this.inflight++;
    try {
      if (request.method === Method.ping) return { jsonrpc: '2.0', id: request.id, result: {} };
      if (request.method === Method.initialize) throw new GatehouseError('session_already_initialized');
      // Tracing off: this one check is all it costs.
      if (this.tracer !== undefined) return await this.traced(this.tracer, session, request, carrier);
      return await this.chain(new CallContext(session, request, this.resolveTarget));
    } catch (error) {
      return this.failure(request, error);
    } finally {
      if (--this.inflight === 0) this.drained?.();
    }
  }

  /** The pipeline inside the request's server span, which ends with where the request went and what came of it. */
  private async traced(tracer: RequestTracer, session: ClientSession, request: JsonRpcRequest, carrier: TraceCarrier | undefined): Promise<RequestOutcome> {
    const trace = tracer.startRequest(session, request, carrier);
    const context = new CallContext(session, request, this.resolveTarget, trace);
    let outcome: RequestOutcome;
    try {
      outcome = await this.chain(context);
    } catch (error) {
      outcome = this.failure(request, error);
    }
    trace.finish(await context.target(), outcome);
    return outcome;
  }

  failure(request: JsonRpcRequest, error: unknown): JsonRpcResponse {
    const failure = toGatehouseError(error);
    if (failure.code === 'internal') this.logger.error({ err: error, method: request.method }, 'request failed');
    return errorResponse(request.id, failure.toRpcError());
  }

  notification(session: ClientSession, notification: JsonRpcNotification): void {
    session.touch();
    if (notification.method === Method.initialized) {
      session.initialized = true;
      return;
    }
    this.relay.onClientNotification(session, notification);
  }

  response(session: ClientSession, response: JsonRpcResponse): void {
    session.touch();
    this.relay.onClientResponse(session, response);
  }

  /** A stateless (2026-07-28) request is over: forget its bookkeeping, but not calls parked for a retry. */
  release(session: ClientSession, cancelCalls: boolean): void {
    session.closed = true;
    this.relay.closeSession(session, cancelCalls);
  }

  close(session: ClientSession): void {
    if (session.closed) return;
    session.closed = true;
    this.sessions.delete(session.id);
    this.relay.closeSession(session);
    session.channel.close();
    this.logger.debug({ session: session.id }, 'session closed');
  }
}
