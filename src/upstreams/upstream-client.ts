import { GatehouseError } from '../core/index.js';
import {
  Method,
  LATEST_SESSION_REVISION,
  isRequest,
  isResponse,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type Params,
  type RequestId,
} from '../protocol/index.js';
import { SessionExpiredError, type UpstreamTransport } from './transport.js';

/** What a server told us in its initialize result. */
export interface ServerIdentity {
  protocolVersion: string;
  capabilities: Params;
  serverInfo: Params;
  instructions?: string;
}

/** Receives what the server sends on its own: requests (sampling, elicitation, roots) and notifications. */
export interface ServerMessageHandler {
  onServerRequest(client: UpstreamClient, request: JsonRpcRequest, context: unknown): void;
  onServerNotification(client: UpstreamClient, notification: JsonRpcNotification, context: unknown): void;
  onClosed(client: UpstreamClient, reason: Error | undefined): void;
}

export interface RequestOptions {
  /** Opaque to the client; handed back with every server message related to this request. */
  context?: unknown;
  timeoutMs: number;
  /** Safe to send again after the server lost our session (it never saw the first attempt's effects). */
  idempotent?: boolean;
  /** A pre-allocated id (from `allocateId`), so the caller can cancel before the reply. */
  id?: RequestId;
}

interface Pending {
  resolve(response: JsonRpcResponse): void;
  reject(error: GatehouseError): void;
  context: unknown;
  timer: NodeJS.Timeout;
  timeoutMs: number;
}

export interface UpstreamClientOptions {
  server: string;
  /** The downstream session this client serves alone, or undefined when it is shared by all. */
  owner?: unknown;
  createTransport: () => UpstreamTransport;
  handler: ServerMessageHandler;
  clientInfo: Params;
  clientCapabilities: Params;
  initializeTimeoutMs: number;
}

/**
 * One MCP client session toward one upstream: the initialize handshake, request ids, timeouts with
 * cancellation, and transparent re-initialisation when the server forgot our session.
 */
export class UpstreamClient {
  readonly server: string;
  readonly owner: unknown;
  identity: ServerIdentity | undefined;
  private transport: UpstreamTransport;
  private nextId = 1;
  private readonly pending = new Map<RequestId, Pending>();
  private closed = false;
  private reinitializing: Promise<void> | undefined;

  constructor(private readonly options: UpstreamClientOptions) {
    this.server = options.server;
    this.owner = options.owner;
    this.transport = options.createTransport();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get inflightCount(): number {
    return this.pending.size;
  }

  /** Contexts of requests still waiting, oldest first (used to route messages a transport cannot relate). */
  inflightContexts(): IterableIterator<unknown> {
    return (function* (pending: Map<RequestId, Pending>) {
      for (const entry of pending.values()) yield entry.context;
    })(this.pending);
  }

  async connect(): Promise<ServerIdentity> {
    await this.transport.start(
      (message, relatedTo) => this.receive(message, relatedTo),
      (reason) => this.onTransportClosed(reason),
    );
    return this.handshake();
  }

  private async handshake(): Promise<ServerIdentity> {
    const response = await this.request(
      Method.initialize,
      {
        protocolVersion: LATEST_SESSION_REVISION,
        capabilities: this.options.clientCapabilities,
        clientInfo: this.options.clientInfo,
      },
      { timeoutMs: this.options.initializeTimeoutMs },
    );
    if ('error' in response) {
      throw new GatehouseError('upstream_unavailable', `initialize failed: ${response.error.message}`);
    }
    const result = response.result;
    if (typeof result.protocolVersion !== 'string') throw new GatehouseError('upstream_protocol_error', 'initialize result has no protocolVersion.');
    this.identity = {
      protocolVersion: result.protocolVersion,
      capabilities: (result.capabilities as Params | undefined) ?? {},
      serverInfo: (result.serverInfo as Params | undefined) ?? {},
      ...(typeof result.instructions === 'string' ? { instructions: result.instructions } : {}),
    };
    this.transport.setProtocolVersion(result.protocolVersion);
    await this.transport.send({ jsonrpc: '2.0', method: Method.initialized });
    return this.identity;
  }

  async request(method: string, params: Params | undefined, options: RequestOptions): Promise<JsonRpcResponse> {
    try {
      return await this.send(method, params, options);
    } catch (error) {
      if (!(error instanceof SessionExpiredError)) throw error;
      // Spec §Session Management: a 404 means the server dropped our session; start a new one.
      await this.reinitialize();
      if (!options.idempotent) {
        throw new GatehouseError('upstream_unavailable', 'The server restarted and lost its session; the call was not repeated because it may not be idempotent. Retry it.');
      }
      return this.send(method, params, options);
    }
  }

  allocateId(): number {
    return this.nextId++;
  }

  private send(method: string, params: Params | undefined, options: RequestOptions): Promise<JsonRpcResponse> {
    if (this.closed) return Promise.reject(new GatehouseError('upstream_unavailable', `Server "${this.server}" is not connected.`));
    const id = options.id ?? this.nextId++;
    const message: JsonRpcRequest = params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
    return new Promise<JsonRpcResponse>((resolve, reject) => {
      const timer = setTimeout(() => this.timeOut(id), options.timeoutMs);
      this.pending.set(id, { resolve, reject, context: options.context, timer, timeoutMs: options.timeoutMs });
      this.transport.send(message).catch((error: unknown) => {
        const entry = this.pending.get(id);
        if (!entry) return;
        this.pending.delete(id);
        clearTimeout(entry.timer);
        if (error instanceof SessionExpiredError) reject(error as never);
        else reject(new GatehouseError('upstream_unavailable', `Server "${this.server}": ${describe(error)}`));
      });
    });
  }

  /** Re-arms a request's timer: a server that reports progress is alive (long-running tools). */
  touch(id: RequestId): void {
    const entry = this.pending.get(id);
    if (entry) entry.timer.refresh();
  }

  /** Asks the server to stop working on a request (spec §Cancellation); its late reply is dropped. */
  cancel(id: RequestId, reason: string): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    void this.notify(Method.cancelled, { requestId: id, reason });
    entry.reject(new GatehouseError('request_cancelled'));
  }

  private timeOut(id: RequestId): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    void this.notify(Method.cancelled, { requestId: id, reason: 'timeout' });
    entry.reject(new GatehouseError('upstream_timeout', `Server "${this.server}" did not answer within ${entry.timeoutMs} ms.`));
  }

  notify(method: string, params?: Params): Promise<void> {
    if (this.closed) return Promise.resolve();
    const message: JsonRpcNotification = params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params };
    return this.transport.send(message).catch(() => undefined);
  }

  /** Answers a request the server sent us (sampling, elicitation, roots, ping). */
  respond(response: JsonRpcResponse): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.transport.send(response).catch(() => undefined);
  }

  private receive(message: JsonRpcMessage, relatedTo: RequestId | undefined): void {
    if (isResponse(message)) {
      if (message.id === null) return;
      const entry = this.pending.get(message.id);
      if (!entry) return; // late reply to a cancelled or timed-out request
      this.pending.delete(message.id);
      clearTimeout(entry.timer);
      entry.resolve(message);
      return;
    }
    const context = relatedTo === undefined ? undefined : this.pending.get(relatedTo)?.context;
    if (isRequest(message)) {
      // The gateway is the client here: it answers pings itself.
      if (message.method === Method.ping) {
        void this.respond({ jsonrpc: '2.0', id: message.id, result: {} });
        return;
      }
      this.options.handler.onServerRequest(this, message, context);
      return;
    }
    this.options.handler.onServerNotification(this, message, context);
  }

  private async reinitialize(): Promise<void> {
    this.reinitializing ??= (async () => {
      const old = this.transport;
      this.transport = this.options.createTransport();
      void old.close();
      await this.transport.start(
        (message, relatedTo) => this.receive(message, relatedTo),
        (reason) => this.onTransportClosed(reason),
      );
      await this.handshake();
      this.transport.openEventStream?.();
    })().finally(() => (this.reinitializing = undefined));
    return this.reinitializing;
  }

  openEventStream(): void {
    this.transport.openEventStream?.();
  }

  private onTransportClosed(reason: Error | undefined): void {
    if (this.closed) return;
    this.failAll(`Server "${this.server}" closed the connection${reason ? `: ${reason.message}` : ''}.`);
    this.closed = true;
    this.options.handler.onClosed(this, reason);
  }

  private failAll(detail: string): void {
    for (const [id, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(new GatehouseError('upstream_unavailable', detail));
      this.pending.delete(id);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(`Server "${this.server}" is shutting down.`);
    await this.transport.close();
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${code} ${error.message}` : error.message;
  }
  return String(error);
}
