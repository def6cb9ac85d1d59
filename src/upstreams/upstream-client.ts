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
import {
  FIRST_MODERN_REVISION,
  ModernErrorCode,
  isModernRevision,
  readDiscoverResult,
  type LoggingLevel,
  toLegacyResult,
  withRequestMeta,
} from '../protocol/eras/index.js';
import { InputRounds, MAX_INPUT_ROUNDS, type InputRound } from './input-rounds.js';
import { SessionExpiredError, UpstreamFailure, connectionFailureOf, type UpstreamTransport } from './transport.js';
import type { UpstreamEndpoint } from './upstream-endpoint.js';

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
  /** The server's shared connection moved to another of its endpoints (replica), whose lists may differ. */
  onSharedMoved?(server: string): void;
  /** The shared connection is back after it was lost (a stdio process restarted): sessions set it up again. */
  onSharedReconnected?(client: UpstreamClient): void;
  /** The shared connection is up, for the first time or again. */
  onSharedReady?(client: UpstreamClient): void;
}

export interface RequestOptions {
  /** Opaque to the client; handed back with every server message related to this request. */
  context?: unknown;
  timeoutMs: number;
  /** A hard limit: progress re-arms `timeoutMs`, but never past this many ms after the request left. */
  maxMs?: number;
  /** Safe to send again after the server lost our session (it never saw the first attempt's effects). */
  idempotent?: boolean;
  /** A pre-allocated id (from `allocateId`), so the caller can cancel before the reply. */
  id?: RequestId;
  /**
   * 2026-07-28 servers only: the calling client's own envelope (its capabilities on this request,
   * its identity, its log level) instead of the connection's.
   */
  meta?: RequestEnvelope;
  /** 2026-07-28 servers only: hand an input_required result back as it is (the caller is a 2026-07-28 client too). */
  passInputRequired?: boolean;
  /** Extra HTTP headers for this request (2026-07-28 `Mcp-Param-*`, W3C `traceparent`). */
  headers?: Readonly<Record<string, string>>;
}

export interface RequestEnvelope {
  clientCapabilities: Params;
  clientInfo?: Params;
  logLevel?: string;
}

interface Pending {
  resolve(response: JsonRpcResponse): void;
  reject(error: GatehouseError): void;
  context: unknown;
  timer: NodeJS.Timeout;
  timeoutMs: number;
  /** Epoch ms past which progress no longer re-arms the timer (RequestOptions.maxMs). */
  deadline: number | undefined;
  /** Kept for 2026-07-28 retries after input_required. */
  method: string;
  params: Params | undefined;
  rounds: number;
  meta: RequestEnvelope | undefined;
  passInputRequired: boolean;
  headers: Readonly<Record<string, string>> | undefined;
  /** The id the router knows this call by, when a retry gave it a new one. */
  originalId?: RequestId;
}

/** Which protocol era to speak: `auto` tries a session and falls back to 2026-07-28 when the server is modern-only. */
export type UpstreamEra = 'auto' | 'legacy' | 'modern';

export interface UpstreamClientOptions {
  server: string;
  /** The downstream session this client serves alone, or undefined when it is shared by all. */
  owner?: unknown;
  createTransport: () => UpstreamTransport;
  handler: ServerMessageHandler;
  clientInfo: Params;
  clientCapabilities: Params;
  initializeTimeoutMs: number;
  era?: UpstreamEra;
  /** The endpoint (replica) this session lives on. */
  endpoint: UpstreamEndpoint;
  /** The connection to the endpoint failed under a request (could not connect, or broke): the owner may move on. */
  onConnectionFailed?: (client: UpstreamClient, failure: UpstreamFailure) => void;
}

/**
 * One MCP client session toward one upstream: the initialize handshake, request ids, timeouts with
 * cancellation, and transparent re-initialisation when the server forgot our session.
 */
export class UpstreamClient {
  readonly server: string;
  readonly owner: unknown;
  /** The endpoint (replica) this session lives on. */
  readonly endpoint: UpstreamEndpoint;
  identity: ServerIdentity | undefined;
  private transport: UpstreamTransport;
  private nextId = 1;
  private readonly pending = new Map<RequestId, Pending>();
  private closed = false;
  private reinitializing: Promise<void> | undefined;
  /** Set when the server speaks only 2026-07-28: requests carry the _meta envelope, no session. */
  private modern = false;
  private readonly rounds = new InputRounds();
  /** A call retried after input_required has a new id; the router still knows it by the first. */
  private readonly aliases = new Map<RequestId, RequestId>();

  constructor(private readonly options: UpstreamClientOptions) {
    this.server = options.server;
    this.owner = options.owner;
    this.endpoint = options.endpoint;
    this.transport = options.createTransport();
  }

  /** stdio and legacy SSE cannot tie a server's request to the call that caused it; HTTP POST streams can. */
  get relatesMessages(): boolean {
    return this.transport.kind === 'streamable-http';
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The server process's id (stdio), undefined for HTTP. */
  get pid(): number | undefined {
    return this.transport.pid;
  }

  /**
   * Which replica this connection reaches, for the audit trail: the endpoint's origin and path (never
   * its query or user info, which may hold credentials), or the process id of a stdio server.
   */
  get replica(): string {
    const url = this.options.endpoint.url;
    if (url !== undefined) return `${url.origin}${url.pathname}`;
    const pid = this.transport.pid;
    return pid === undefined ? 'stdio' : `pid:${pid}`;
  }

  /**
   * Grows with every request sent (ids are never reused): a supervisor that sees it unchanged knows the
   * connection was idle in between, without a clock read per call.
   */
  get activity(): number {
    return this.nextId;
  }

  /** Contexts of requests still waiting, oldest first (used to route messages a transport cannot relate). */
  /** Requests sent and not yet answered. */
  get inflightCount(): number {
    return this.pending.size;
  }

  inflightContexts(): IterableIterator<unknown> {
    return (function* (pending: Map<RequestId, Pending>) {
      for (const entry of pending.values()) yield entry.context;
    })(this.pending);
  }

  async connect(): Promise<ServerIdentity> {
    await this.transport.start(
      (message, relatedTo) => this.receive(message, relatedTo),
      (reason) => this.onTransportClosed(reason),
      (id, reason) => this.lost(id, reason),
    );
    return this.handshake();
  }

  private async handshake(): Promise<ServerIdentity> {
    if (this.options.era === 'modern') return this.discover();
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
      // A modern-only server answers initialize with -32022 naming its revisions (docs/protocol-eras.md §9).
      const supported = (response.error.data as { supported?: unknown } | undefined)?.supported;
      if (this.options.era !== 'legacy' && response.error.code === ModernErrorCode.unsupportedProtocolVersion && Array.isArray(supported) && supported.some(isModernRevision)) {
        return this.discover();
      }
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

  /** 2026-07-28: no handshake; server/discover tells capabilities and identity. */
  private async discover(): Promise<ServerIdentity> {
    this.modern = true;
    this.transport.setProtocolVersion(FIRST_MODERN_REVISION);
    const response = await this.request('server/discover', undefined, { timeoutMs: this.options.initializeTimeoutMs });
    const discovered = 'result' in response ? readDiscoverResult(response.result) : undefined;
    if (!discovered) {
      throw new GatehouseError('upstream_protocol_error', `server/discover failed${'error' in response ? `: ${response.error.message}` : '.'}`);
    }
    this.identity = {
      protocolVersion: FIRST_MODERN_REVISION,
      capabilities: discovered.capabilities,
      serverInfo: (discovered.serverInfo as Params | undefined) ?? {},
      ...(discovered.instructions !== undefined ? { instructions: discovered.instructions } : {}),
    };
    return this.identity;
  }

  get era(): 'legacy' | 'modern' {
    return this.modern ? 'modern' : 'legacy';
  }

  /** A request as it goes on the wire: with the per-request envelope for a 2026-07-28 server. */
  private wire(id: RequestId, method: string, params: Params | undefined, meta?: RequestEnvelope): JsonRpcRequest {
    if (this.modern) {
      const capabilities = { ...(meta?.clientCapabilities ?? this.options.clientCapabilities) };
      // 2026-07-28 roots have no listChanged (there is no client notification left to announce it).
      if (capabilities.roots !== undefined) capabilities.roots = {};
      params = withRequestMeta(params, {
        protocolVersion: FIRST_MODERN_REVISION,
        clientCapabilities: capabilities,
        clientInfo: (meta?.clientInfo ?? this.options.clientInfo) as { name: string; version: string },
        ...(meta?.logLevel !== undefined ? { logLevel: meta.logLevel as LoggingLevel } : {}),
      });
    }
    return params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
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
    if (this.closed) return Promise.reject(new UpstreamFailure(`Server "${this.server}" is not connected.`, 'unreachable'));
    const id = options.id ?? this.nextId++;
    const message = this.wire(id, method, params, options.meta);
    return new Promise<JsonRpcResponse>((resolve, reject) => {
      const timer = setTimeout(() => this.timeOut(id), options.timeoutMs);
      this.pending.set(id, {
        resolve,
        reject,
        context: options.context,
        timer,
        timeoutMs: options.timeoutMs,
        deadline: options.maxMs === undefined ? undefined : Date.now() + options.maxMs,
        method,
        params,
        rounds: 0,
        meta: options.meta,
        passInputRequired: options.passInputRequired === true,
        headers: options.headers,
      });
      this.transport.send(message, options.headers).catch((error: unknown) => {
        const entry = this.pending.get(id);
        if (!entry) return;
        this.pending.delete(id);
        clearTimeout(entry.timer);
        if (error instanceof SessionExpiredError) {
          reject(error as never);
          return;
        }
        const kind = connectionFailureOf(error);
        if (kind === undefined) {
          reject(new GatehouseError('upstream_unavailable', `Server "${this.server}": ${describe(error)}`));
          return;
        }
        const failure = new UpstreamFailure(`Server "${this.server}": ${describe(error)}`, kind);
        reject(failure);
        this.options.onConnectionFailed?.(this, failure);
      });
    });
  }

  /** Re-arms a request's timer: a server that reports progress is alive (long-running tools). */
  touch(id: RequestId): void {
    const resolved = this.aliases.get(id) ?? id;
    const entry = this.pending.get(resolved);
    if (!entry) return;
    const left = entry.deadline === undefined ? Infinity : entry.deadline - Date.now();
    if (left >= entry.timeoutMs) {
      entry.timer.refresh();
      return;
    }
    // Progress or not, the hard limit stands: the last stretch is only what is left of it.
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.timeOut(resolved), Math.max(0, left));
  }

  /** Asks the server to stop working on a request (spec §Cancellation); its late reply is dropped. */
  cancel(id: RequestId, reason: string): void {
    const original = id;
    id = this.aliases.get(id) ?? id;
    this.aliases.delete(original);
    this.rounds.drop(id);
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    void this.notify(Method.cancelled, { requestId: id, reason });
    entry.reject(new GatehouseError('request_cancelled'));
  }

  private timeOut(timerId: RequestId): void {
    // The timer was armed with the id the request was first sent with; a retry after input carries a new one.
    const id = this.aliases.get(timerId) ?? timerId;
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    if (entry.originalId !== undefined) this.aliases.delete(entry.originalId);
    this.rounds.drop(id);
    void this.notify(Method.cancelled, { requestId: id, reason: 'timeout' });
    const pastDeadline = entry.deadline !== undefined && Date.now() >= entry.deadline;
    entry.reject(
      new GatehouseError(
        'upstream_timeout',
        pastDeadline
          ? `Server "${this.server}" did not finish within the hard limit for one request (maxRequestMs); the call was cancelled.`
          : `Server "${this.server}" did not answer within ${entry.timeoutMs} ms.`,
      ),
    );
  }

  notify(method: string, params?: Params): Promise<void> {
    if (this.closed) return Promise.resolve();
    // 2026-07-28 has no client notifications on HTTP (closing the stream cancels); stdio keeps cancelled.
    if (this.modern && !(method === Method.cancelled && this.transport.kind === 'stdio')) return Promise.resolve();
    const message: JsonRpcNotification = params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params };
    return this.transport.send(message).catch(() => undefined);
  }

  /** Answers a request the server sent us (sampling, elicitation, roots, ping). */
  respond(response: JsonRpcResponse): Promise<void> {
    if (this.closed) return Promise.resolve();
    const answered = this.rounds.answer(response);
    if (answered) {
      if (answered.complete) this.retryAfterInput(answered.round);
      return Promise.resolve();
    }
    return this.transport.send(response).catch(() => undefined);
  }

  /** A 2026-07-28 server needs input: ask through the router as if the server had sent requests. */
  private startInputRound(id: RequestId, entry: Pending, result: Params): void {
    if (++entry.rounds > MAX_INPUT_ROUNDS) {
      this.settle(id, { jsonrpc: '2.0', id, error: { code: -32603, message: `Server "${this.server}" asked for input more than ${MAX_INPUT_ROUNDS} times.` } });
      return;
    }
    const started = this.rounds.start(id, result);
    if ('problem' in started) {
      this.settle(id, { jsonrpc: '2.0', id, error: { code: -32603, message: `Server "${this.server}" sent an invalid input_required result: ${started.problem}` } });
      return;
    }
    entry.timer.refresh();
    if (started.requests.length === 0) {
      // requestState alone is load shedding: retry shortly (the SDK client waits 250 ms too).
      setTimeout(() => this.retryAfterInput(started.round), 250).unref();
      return;
    }
    for (const request of started.requests) this.options.handler.onServerRequest(this, request, entry.context);
  }

  private retryAfterInput(round: InputRound): void {
    const entry = this.pending.get(round.requestId);
    if (!entry || this.closed) return;
    const retry = this.rounds.retryParams(round, entry.params);
    if ('error' in retry) {
      this.settle(round.requestId, { jsonrpc: '2.0', id: round.requestId, error: retry.error });
      return;
    }
    // mrtr §Client Requirements: the retry is the same request with a new JSON-RPC id.
    const newId = this.nextId++;
    this.pending.delete(round.requestId);
    this.pending.set(newId, entry);
    entry.originalId ??= round.requestId;
    this.aliases.set(entry.originalId, newId);
    entry.timer.refresh();
    this.transport.send(this.wire(newId, entry.method, retry.params, entry.meta), entry.headers).catch((error: unknown) => {
      this.settle(newId, { jsonrpc: '2.0', id: newId, error: { code: -32603, message: `Server "${this.server}": ${describe(error)}` } });
    });
  }

  private settle(id: RequestId, response: JsonRpcResponse): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    entry.resolve(response);
  }

  private receive(message: JsonRpcMessage, relatedTo: RequestId | undefined): void {
    if (isResponse(message)) {
      const id = message.id;
      if (id === null) return;
      const entry = this.pending.get(id);
      if (!entry) return; // late reply to a cancelled or timed-out request
      if (this.modern && 'result' in message && !entry.passInputRequired) {
        if (message.result.resultType === 'input_required') {
          this.startInputRound(id, entry, message.result);
          return;
        }
        message = { ...message, result: toLegacyResult(message.result) };
      }
      this.pending.delete(id);
      clearTimeout(entry.timer);
      if (entry.originalId !== undefined) this.aliases.delete(entry.originalId);
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
        (id, reason) => this.lost(id, reason),
      );
      await this.handshake();
      this.transport.openEventStream?.();
    })().finally(() => (this.reinitializing = undefined));
    return this.reinitializing;
  }

  openEventStream(): void {
    this.transport.openEventStream?.();
  }

  /** The transport lost a request's reply for good (its stream broke before the answer came). */
  private lost(id: RequestId, reason: string): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    clearTimeout(entry.timer);
    if (entry.originalId !== undefined) this.aliases.delete(entry.originalId);
    const failure = new UpstreamFailure(`Server "${this.server}" ${reason}`, 'lost');
    entry.reject(failure);
    this.options.onConnectionFailed?.(this, failure);
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

  /** `reason`: what requests still waiting are failed with (default: the server is shutting down). */
  async close(reason?: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(reason ?? `Server "${this.server}" is shutting down.`);
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
