import { ANONYMOUS, GatehouseError, toGatehouseError, type CallNotes } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import {
  Method,
  adaptToolResultForRevision,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type ListKind,
  type Params,
  type RequestId,
  type RequestOutcome,
} from '../protocol/index.js';
import { isServerFailure } from '../upstreams/index.js';
import { retriable } from './retry-policy.js';
import type { CircuitBreaker, RequestEnvelope, RequestOptions, ServerMessageHandler, Upstream, UpstreamClient, UpstreamEndpoint } from '../upstreams/index.js';
import { canReturnInputRequired, checkParamHeaders, isModernRevision, paramHeadersFor, withoutModernFields } from '../protocol/eras/index.js';
import { Catalog } from './catalog.js';
import { resolveName, resolveUri } from './resolve.js';
import { InputBridge, newInputWaiter } from './input-bridge.js';
import type { ClientLink } from './client-link.js';
import { RelayState, type InflightCall } from './relay-state.js';
import { setUpAgain } from './session-setup.js';
import type { View } from './view.js';
import { checkCall, fallbackFor, mayRetry } from './call-policy.js';
import { describeView, fetchList, forwardServerCancel, guessCall, latestCall, listChanged, listReturned, relayNotification, relistServer, resourceUpdated, sessionToAsk, setSessionsUpAgain } from './server-relay.js';

export interface RouterOptions {
  separator: string;
  pageSize: number;
  listTimeoutMs: number;
  logger: Logger;
  /** Every live downstream session (for list_changed fan-out and updates). */
  sessions: () => Iterable<ClientLink>;
  /** Told each server's complete list whenever one is fetched (the registry records what servers offer). */
  onServerListed?: (server: string, kind: ListKind, items: Params[]) => void;
}

export type RouteOutcome = RequestOutcome;

/** A call as forward() sent it: what a retry needs to send it again, and when it left. */
interface ForwardedCall extends InflightCall {
  readonly server: string;
  readonly request: JsonRpcRequest;
  /** The params as the client sent them (before this attempt's rewriting). */
  readonly params: Params;
  readonly idempotent: boolean;
  readonly tool: Params | undefined;
  readonly retry: number;
  /** The client request's notes: its trace (each attempt opens its upstream-call span under it), and where it went. */
  readonly notes: CallNotes | undefined;
  /** performance.now() when sent, 0 when the server has one endpoint (nothing to balance). */
  readonly startedAt: number;
}

interface ProgressRoute {
  readonly call: InflightCall;
  readonly downstreamToken: string | number;
}

/**
 * The aggregated namespace: merges lists, maps exposed names back to (server, name), forwards
 * requests to the right upstream and relays everything servers send back to the right client.
 */
export class Router implements ServerMessageHandler {
  readonly catalog: Catalog;
  private upstreams = new Map<string, Upstream>();
  private readonly relays = new Map<string, RelayState>();
  private readonly progress = new Map<string, ProgressRoute>();
  private nextToken = 1;
  private nextClientRequest = 1;
  private readonly inputs = new InputBridge();
  /** Each replicated server's lists as last fetched (serialised), by server and kind. */
  private readonly listFingerprints = new Map<string, string>();

  constructor(private readonly options: RouterOptions) {
    this.catalog = new Catalog(
      (server, kind) => fetchList(this.upstreams, this.listFingerprints, this.options, server, kind),
      options.separator,
      options.pageSize,
      (server, kind) => listReturned(this.options, server, kind),
    );
  }

  setUpstreams(upstreams: Map<string, Upstream>): void {
    this.upstreams = upstreams;
    this.catalog.clearViews();
  }

  upstream(name: string): Upstream | undefined {
    return this.upstreams.get(name);
  }

  private relayOf(session: ClientLink): RelayState {
    let relay = this.relays.get(session.id);
    if (!relay) {
      relay = new RelayState();
      this.relays.set(session.id, relay);
    }
    return relay;
  }

  /** What `initialize` answers for a view: one server's own capabilities, or the aggregate set. */
  describe(view: View): Promise<{ capabilities: Params; instructions?: string; serverInfo?: Params }> {
    return describeView(this.upstreams, view);
  }

  /**
   * Where a request goes, resolved the way route() resolves it (for filters that key on the server
   * or tool); undefined for requests that name no single item.
   */
  async targetOf(
    session: ClientLink,
    request: JsonRpcRequest,
  ): Promise<{ server: string; kind: 'tools' | 'prompts' | 'resources'; name: string; item?: Params; authorized: boolean } | undefined> {
    const params = request.params ?? {};
    const authorize = session.view.authorizeCall;
    switch (request.method) {
      case Method.toolsCall:
      case Method.promptsGet: {
        const kind = request.method === Method.toolsCall ? 'tools' : 'prompts';
        if (typeof params.name !== 'string') return undefined;
        const target = await resolveName(this.catalog, this.options.separator, session.view, kind, params.name);
        if (target === undefined) return undefined;
        const authorized = authorize === undefined || authorize(session.identity ?? ANONYMOUS, target.server, kind, target.original, params.arguments);
        return { server: target.server, kind, name: target.original, item: target.item, authorized };
      }
      case Method.resourcesRead:
      case Method.resourcesSubscribe:
      case Method.resourcesUnsubscribe: {
        if (typeof params.uri !== 'string') return undefined;
        const target = await resolveUri(this.catalog, session.view, params.uri);
        const authorized = authorize === undefined || authorize(session.identity ?? ANONYMOUS, target.server, 'resources', target.uri, {});
        return { server: target.server, kind: 'resources', name: target.uri, authorized };
      }
      default:
        return undefined;
    }
  }

  /** Routes one client request (everything but initialize and ping); `notes` carry its trace, and get where it went. */
  async route(session: ClientLink, request: JsonRpcRequest, notes?: CallNotes): Promise<RouteOutcome> {
    const params = request.params ?? {};
    switch (request.method) {
      case Method.toolsList:
        return this.list(session, 'tools', request.id, params);
      case Method.promptsList:
        return this.list(session, 'prompts', request.id, params);
      case Method.resourcesList:
        return this.list(session, 'resources', request.id, params);
      case Method.resourceTemplatesList:
        return this.list(session, 'resourceTemplates', request.id, params);
      case Method.toolsCall:
        return this.callTool(session, request, params, notes);
      case Method.promptsGet:
        return this.getPrompt(session, request, params, notes);
      case Method.resourcesRead:
        return this.byUri(session, request, params, notes);
      case Method.resourcesSubscribe:
      case Method.resourcesUnsubscribe:
        return this.subscription(session, request, params, notes);
      case Method.completionComplete:
        return this.complete(session, request, params, notes);
      case Method.loggingSetLevel:
        return this.setLevel(session, request, params, notes);
      default:
        // One server's own endpoint passes through methods the gateway does not know (experimental, newer).
        // (Not for a caller narrowed by policies: an unknown method could reach what they may not use.)
        if (session.view.kind === 'server' && session.view.permits === undefined) {
          return this.forward(session, session.view.servers[0]!, request, params, notes);
        }
        throw new GatehouseError('method_not_found', `"${request.method.slice(0, 100)}" is not a method this endpoint serves.`);
    }
  }

  private async list(session: ClientLink, kind: ListKind, id: RequestId, params: Params): Promise<RouteOutcome> {
    const list = await this.catalog.listFor(session.view, kind);
    if (list.failures.size > 0) {
      this.options.logger.warn({ kind, failures: Object.fromEntries(list.failures) }, 'some servers were left out of a list');
    }
    return { id, serialisedResult: this.catalog.page(list, params.cursor, session.stateless === true) };
  }

  private async callTool(session: ClientLink, request: JsonRpcRequest, params: Params, notes: CallNotes | undefined): Promise<RouteOutcome> {
    const name = params.name;
    if (typeof name !== 'string') throw new GatehouseError('invalid_params', 'tools/call needs a string "name".');
    try {
      const target = await resolveName(this.catalog, this.options.separator, session.view, 'tools', name);
      if (!target) throw new GatehouseError('tool_not_found', `No tool named "${name.slice(0, 200)}".`, { name: name.slice(0, 200) });
      checkCall(session, target.server, 'tools', target.original, params.arguments);
      if (session.paramHeaders !== undefined) {
        // SEP-2243 §Server Validation: the gateway is the server its 2026-07-28 client talks to.
        const problem = checkParamHeaders(target.item.inputSchema, params.arguments, session.paramHeaders);
        if (problem !== undefined) throw new GatehouseError('header_mismatch', `Mcp-Param: ${problem}.`);
      }
      const annotations = target.item.annotations as Params | undefined;
      const idempotent = annotations?.idempotentHint === true || annotations?.readOnlyHint === true;
      let outcome: RouteOutcome;
      try {
        outcome = await this.forward(session, target.server, request, target.original === name ? params : { ...params, name: target.original }, notes, idempotent, target.item);
      } catch (error) {
        const fallback = await fallbackFor(this.upstreams, this.catalog, session, target.server, target.original, params.arguments, error, idempotent);
        if (fallback === undefined) throw error;
        this.options.logger.info({ server: target.server, fallback: fallback.server, tool: target.original, reason: toGatehouseError(error).message }, 'tool call sent to the fallback server');
        outcome = await this.forward(session, fallback.server, request, { ...params, name: target.original }, notes, idempotent, fallback.item);
      }
      if (outcome && 'result' in outcome) outcome.result = adaptToolResultForRevision(outcome.result, session.protocolVersion);
      return outcome;
    } catch (error) {
      const failure = toGatehouseError(error);
      // MCP 2025-11-25 §Elicitation: a client that handles URL elicitations gets -32042 and opens the
      // connection page itself; any other client gets a result whose text carries the URL.
      if (failure.code === 'connection_required' && (session.clientCapabilities.elicitation as Params | undefined)?.url !== undefined) throw failure;
      if (failure.code !== 'upstream_unavailable' && failure.code !== 'upstream_timeout' && failure.code !== 'connection_required' && failure.code !== 'user_token_unavailable') {
        throw failure;
      }
      // Spec §Tools, error handling: execution failures are results the model can read and act on.
      return {
        jsonrpc: '2.0',
        id: request.id,
        result: {
          content: [{ type: 'text', text: `${failure.message} The tool "${name}" could not run; try again later or use another tool.` }],
          isError: true,
        },
      };
    }
  }

  private async getPrompt(session: ClientLink, request: JsonRpcRequest, params: Params, notes: CallNotes | undefined): Promise<RouteOutcome> {
    const name = params.name;
    if (typeof name !== 'string') throw new GatehouseError('invalid_params', `${request.method} needs a string "name".`);
    const target = await resolveName(this.catalog, this.options.separator, session.view, 'prompts', name);
    if (!target) throw new GatehouseError('prompt_not_found', `No prompt named "${name.slice(0, 200)}".`);
    checkCall(session, target.server, 'prompts', target.original, params.arguments);
    return this.forward(session, target.server, request, target.original === name ? params : { ...params, name: target.original }, notes, true);
  }

  private async byUri(session: ClientLink, request: JsonRpcRequest, params: Params, notes: CallNotes | undefined): Promise<RouteOutcome> {
    const uri = params.uri;
    if (typeof uri !== 'string') throw new GatehouseError('invalid_params', `${request.method} needs a string "uri".`);
    const target = await resolveUri(this.catalog, session.view, uri);
    checkCall(session, target.server, 'resources', target.uri, {});
    const response = await this.forward(session, target.server, request, target.uri === uri ? params : { ...params, uri: target.uri }, notes, true);
    // Contents echo the server's URI; show the client the one it asked for.
    if (response && 'result' in response && session.view.prefixed && Array.isArray(response.result.contents)) {
      response.result.contents = (response.result.contents as Params[]).map((item) =>
        item.uri === target.uri ? { ...item, uri } : item,
      );
    }
    return response;
  }

  private async subscription(session: ClientLink, request: JsonRpcRequest, params: Params, notes: CallNotes | undefined): Promise<RouteOutcome> {
    const uri = params.uri;
    if (typeof uri !== 'string') throw new GatehouseError('invalid_params', `${request.method} needs a string "uri".`);
    const target = await resolveUri(this.catalog, session.view, uri);
    const identity = this.upstreams.get(target.server)?.identity;
    // 2026-07-28 servers replaced resources/subscribe with subscriptions/listen, which the gateway does
    // not open toward servers yet: the subscription is recorded, and no updates arrive from them.
    const response =
      identity !== undefined && isModernRevision(identity.protocolVersion)
        ? ({ jsonrpc: '2.0', id: request.id, result: {} } as const)
        : await this.forward(session, target.server, request, { ...params, uri: target.uri }, notes, true);
    if (response && 'result' in response) {
      const subscriptions = this.relayOf(session).subscriptions;
      if (request.method === Method.resourcesSubscribe) subscriptions.set(uri, target);
      else subscriptions.delete(uri);
    }
    return response;
  }

  private async complete(session: ClientLink, request: JsonRpcRequest, params: Params, notes: CallNotes | undefined): Promise<RouteOutcome> {
    const ref = params.ref as Params | undefined;
    if (!ref || typeof ref.type !== 'string') throw new GatehouseError('invalid_params', 'completion/complete needs a "ref".');
    if (ref.type === 'ref/prompt' && typeof ref.name === 'string') {
      const target = await resolveName(this.catalog, this.options.separator, session.view, 'prompts', ref.name);
      if (!target) throw new GatehouseError('prompt_not_found', `No prompt named "${ref.name.slice(0, 200)}".`);
      return this.forward(session, target.server, request, { ...params, ref: { ...ref, name: target.original } }, notes, true);
    }
    if (ref.type === 'ref/resource' && typeof ref.uri === 'string') {
      const target = await resolveUri(this.catalog, session.view, ref.uri);
      return this.forward(session, target.server, request, { ...params, ref: { ...ref, uri: target.uri } }, notes, true);
    }
    throw new GatehouseError('invalid_params', 'completion/complete: unknown ref type.');
  }

  private async setLevel(session: ClientLink, request: JsonRpcRequest, params: Params, notes: CallNotes | undefined): Promise<RouteOutcome> {
    const relay = this.relayOf(session);
    if (typeof params.level === 'string') relay.logLevel = params.level;
    // 2026-07-28 servers have no logging/setLevel: the level travels in each request's _meta instead.
    const targets = session.view.servers.filter((name) => {
      const identity = this.upstreams.get(name)?.identity;
      if (identity !== undefined && isModernRevision(identity.protocolVersion)) return false;
      return identity === undefined || identity.capabilities.logging !== undefined;
    });
    const settled = Promise.allSettled(
      targets.map((server) => {
        relay.loggingServers.add(server);
        return this.forward(session, server, { ...request }, params, notes, true);
      }),
    );
    if (session.view.kind !== 'server') {
      // Several servers: one slow or hung server must not hold the answer (clients set the level while
      // they start up). As when aggregating lists, each gets listTimeoutMs; a late one still gets the
      // level, its request goes on, and the relay keeps the level for its reconnects.
      await settledWithin(settled, this.options.listTimeoutMs);
      return { jsonrpc: '2.0', id: request.id, result: {} };
    }
    const outcomes = await settled;
    const failed = outcomes.find((outcome) => outcome.status === 'fulfilled' && outcome.value && 'error' in outcome.value);
    if (failed?.status === 'fulfilled' && failed.value) return failed.value;
    return { jsonrpc: '2.0', id: request.id, result: {} };
  }

  /**
   * Sends a request upstream on the session's behalf and maps the reply back to the client's id.
   * `retry` counts the attempts before this one; `avoid` is the endpoint the last one failed on.
   */
  private async forward(
    session: ClientLink,
    server: string,
    request: JsonRpcRequest,
    params: Params,
    notes: CallNotes | undefined,
    idempotent = false,
    tool?: Params,
    retry = 0,
    avoid?: UpstreamEndpoint,
  ): Promise<RouteOutcome> {
    const upstream = this.upstreams.get(server);
    if (!upstream) throw new GatehouseError('upstream_unavailable', `Server "${server}" is not configured.`);
    const stateless = session.stateless === true;
    // A 2026-07-28 retry of a call parked here continues it instead of starting one.
    if (stateless && canReturnInputRequired(request.method) && this.inputs.has(params.requestState)) {
      return this.inputs.resume(session, request.id, params.requestState, params.inputResponses);
    }
    const original = params;
    if (retry === 0) upstream.retryBudget.deposit();
    upstream.checkAvailable();
    let client = avoid === undefined ? upstream.readyClientFor(session) : undefined;
    if (client === undefined) {
      try {
        client = await upstream.clientFor(session, avoid);
      } catch (error) {
        // Nothing was sent: any request may go again to another replica. With one endpoint only an
        // idempotent one (the endpoint that just refused will likely refuse again; each try counts
        // toward its circuit). Never after a timeout.
        if (retriable(error, idempotent || upstream.balanced, upstream.balanced) && (await mayRetry(upstream, retry))) {
          return this.forward(session, server, request, original, notes, idempotent, tool, retry + 1);
        }
        throw error;
      }
    }
    const breaker = client.endpoint.breaker;
    breaker.admit();
    if (notes !== undefined) notes.upstream = client.replica;
    const relay = this.relayOf(session);
    const lastClient = relay.clients.get(server);
    if (lastClient !== client) {
      relay.clients.set(server, client);
      if (lastClient !== undefined) setUpAgain(relay, client, upstream.requestTimeoutMs, this.options.logger);
    }
    const modernUpstream = client.era === 'modern';
    // Both ends 2026-07-28: input_required and its retry pass through untouched (keys, requestState).
    const passInputRequired = stateless && modernUpstream;
    const bridged = stateless && !modernUpstream && canReturnInputRequired(request.method);
    if (bridged && params.requestState !== undefined) {
      // Only the gateway mints requestState toward a session-based server: anything else is forged or stale.
      throw new GatehouseError('invalid_params', 'requestState is unknown or expired; send the request again without it.');
    }
    if (stateless) {
      const { inputResponses, requestState } = params;
      params = withoutModernFields(params) ?? {};
      if (passInputRequired) {
        if (inputResponses !== undefined) params.inputResponses = inputResponses;
        if (requestState !== undefined) params.requestState = requestState;
      }
    }
    const logLevel = relay.logLevel ?? session.logLevel;
    const envelope: RequestEnvelope | undefined = modernUpstream
      ? { clientCapabilities: session.clientCapabilities, clientInfo: session.clientInfo, ...(logLevel !== undefined ? { logLevel } : {}) }
      : undefined;
    const upstreamId = client.allocateId();
    const call: ForwardedCall = {
      session,
      downstreamId: request.id,
      client,
      upstreamId,
      cancelled: false,
      server,
      request,
      params: original,
      idempotent,
      tool,
      retry,
      notes,
      // Latency is measured only where a balancer reads it: one endpoint costs no clock reads.
      startedAt: upstream.balanced ? performance.now() : 0,
    };
    if (bridged) call.inputs = newInputWaiter();
    relay.inflight.set(request.id, call);
    let token: string | undefined;
    const meta = params._meta as Params | undefined;
    const downstreamToken = meta?.progressToken;
    if (typeof downstreamToken === 'string' || typeof downstreamToken === 'number') {
      // Tokens are remapped so that clients sharing one upstream never see each other's progress.
      token = `gh${this.nextToken++}`;
      this.progress.set(token, { call, downstreamToken });
      params = { ...params, _meta: { ...meta, progressToken: token } };
    }
    const limits = upstream.timeoutsFor(request.method === Method.toolsCall && typeof params.name === 'string' ? params.name : undefined);
    const options: RequestOptions = { id: upstreamId, context: call, timeoutMs: limits.timeoutMs, maxMs: limits.maxMs, idempotent, passInputRequired };
    if (envelope) options.meta = envelope;
    if (modernUpstream && tool !== undefined) {
      const headers = paramHeadersFor(tool.inputSchema, params.arguments);
      if (Object.keys(headers).length > 0) options.headers = headers;
    }
    // Tracing on: this attempt's span context goes upstream in `_meta` (SEP-414, whatever the transport)
    // and as the W3C traceparent header (HTTP), so the server's own spans join the client's trace.
    const span = notes?.trace?.upstreamCall(server, request.method);
    if (span !== undefined) {
      const context = span.tracestate === undefined ? { traceparent: span.traceparent } : { traceparent: span.traceparent, tracestate: span.tracestate };
      params = { ...params, _meta: { ...(params._meta as Params | undefined), ...context } };
      options.headers = { ...options.headers, ...context };
    }
    const reply = client.request(request.method, params, options);
    if (span !== undefined) {
      reply.then(
        (response) => span.end('error' in response ? String(response.error.code) : undefined),
        (error: unknown) => span.end(toGatehouseError(error).code),
      );
    }
    const completion = this.settleReply(call, reply, breaker, () => {
      if (relay.inflight.get(request.id) === call) relay.inflight.delete(request.id);
      if (token !== undefined) this.progress.delete(token);
    });
    return bridged ? this.inputs.settle(call, completion) : completion;
  }

  /** The upstream's reply under the client's id (the call's current one: a retry may have taken it over). */
  private async settleReply(call: ForwardedCall, reply: Promise<JsonRpcResponse>, breaker: CircuitBreaker, cleanup: () => void): Promise<RouteOutcome> {
    try {
      const response = await reply;
      // Any answer, errors included, shows the server is up.
      breaker.success();
      if (call.cancelled) return undefined;
      if ('result' in response) {
        if (call.startedAt !== 0) call.client.endpoint.observe(performance.now() - call.startedAt);
        return { jsonrpc: '2.0', id: call.downstreamId, result: response.result };
      }
      return { jsonrpc: '2.0', id: call.downstreamId, error: response.error };
    } catch (error) {
      if (isServerFailure(error)) breaker.failure();
      if (call.cancelled) return undefined;
      const upstream = this.upstreams.get(call.server);
      // A bridged call (input rounds under way for a 2026-07-28 caller) is sent again only if it never left.
      const repeatable = call.idempotent && call.inputs === undefined;
      if (upstream !== undefined && retriable(error, repeatable, upstream.balanced) && (await mayRetry(upstream, call.retry)) && !call.cancelled) {
        return this.forward(call.session, call.server, call.request, call.params, call.notes, call.idempotent, call.tool, call.retry + 1, call.client.endpoint);
      }
      throw error;
    } finally {
      cleanup();
    }
  }

  /** Notifications from the client. */
  onClientNotification(session: ClientLink, notification: JsonRpcNotification): void {
    const relay = this.relayOf(session);
    if (notification.method === Method.cancelled) {
      const requestId = notification.params?.requestId as RequestId | undefined;
      const call = requestId === undefined ? undefined : relay.inflight.get(requestId);
      if (!call || call.upstreamId === undefined) return;
      call.cancelled = true;
      const reason = typeof notification.params?.reason === 'string' ? notification.params.reason : 'cancelled by the client';
      this.options.logger.debug({ session: session.id, requestId, server: call.client.server, reason }, 'call cancelled by the client');
      call.client.cancel(call.upstreamId, reason);
      return;
    }
    if (notification.method === Method.rootsListChanged) {
      for (const server of session.view.servers) {
        const upstream = this.upstreams.get(server);
        if (upstream?.isolatesSessions) void upstream.clientFor(session).then((client) => client.notify(notification.method, notification.params));
      }
    }
    // Other client notifications (progress on sampling, etc.) have no upstream meaning yet.
  }

  /** The client answered a request a server sent it. */
  onClientResponse(session: ClientLink, response: JsonRpcResponse): void {
    if (response.id === null) return;
    const relay = this.relayOf(session);
    const key = String(response.id);
    const pending = relay.clientRequests.get(key);
    if (!pending) return;
    relay.clientRequests.delete(key);
    void pending.client.respond(
      'result' in response
        ? { jsonrpc: '2.0', id: pending.upstreamId, result: response.result }
        : { jsonrpc: '2.0', id: pending.upstreamId, error: response.error },
    );
  }

  /** The session ended: cancel its calls, refuse its pending server requests, end its upstream sessions. */
  closeSession(session: ClientLink, cancelCalls = true): void {
    const relay = this.relays.get(session.id);
    this.relays.delete(session.id);
    if (relay && cancelCalls) {
      for (const call of relay.inflight.values()) {
        call.cancelled = true;
        if (call.upstreamId !== undefined) call.client.cancel(call.upstreamId, 'client session ended');
      }
      for (const pending of relay.clientRequests.values()) {
        void pending.client.respond({ jsonrpc: '2.0', id: pending.upstreamId, error: { code: -32603, message: 'The client session ended.' } });
      }
    }
    for (const server of session.view.servers) this.upstreams.get(server)?.releaseSession(session.id);
  }

  // ---- Messages servers send on their own (server-relay.ts) ----

  onServerRequest(client: UpstreamClient, request: JsonRpcRequest, context: unknown): void {
    const call = (context as InflightCall | undefined) ?? guessCall(client);
    const session = sessionToAsk(client, request, call);
    if (!session) return;
    const relay = this.relayOf(session);
    const downstreamId = `gatehouse-${this.nextClientRequest++}`;
    relay.clientRequests.set(downstreamId, { client, upstreamId: request.id });
    session.send({ ...request, id: downstreamId }, call?.downstreamId ?? latestCall(client, session)?.downstreamId);
  }

  onServerNotification(client: UpstreamClient, notification: JsonRpcNotification, context: unknown): void {
    const params = notification.params ?? {};
    switch (notification.method) {
      case Method.progress: {
        const route = this.progress.get(String(params.progressToken));
        if (!route) return;
        if (route.call.upstreamId !== undefined) client.touch(route.call.upstreamId);
        route.call.session.send({ ...notification, params: { ...params, progressToken: route.downstreamToken } }, route.call.downstreamId);
        return;
      }
      case Method.toolsListChanged:
      case Method.promptsListChanged:
      case Method.resourcesListChanged:
        listChanged(this.catalog, this.options, client.server, notification.method);
        return;
      case Method.resourceUpdated:
        resourceUpdated(this.relays, this.options, client, params);
        return;
      case Method.cancelled: {
        // The server withdrew a request it sent the client.
        const session = (client.owner as ClientLink | undefined) ?? (context as InflightCall | undefined)?.session;
        if (session) forwardServerCancel(this.relays, session, client, params);
        else for (const candidate of this.options.sessions()) forwardServerCancel(this.relays, candidate, client, params);
        return;
      }
      default:
        relayNotification(this.relays, this.options, client, notification, context);
    }
  }

  onClosed(client: UpstreamClient, reason: Error | undefined): void {
    const upstream = this.upstreams.get(client.server);
    upstream?.clientClosed(client, reason);
    if (client.owner === undefined) {
      // A restarted server may come back with other lists.
      this.catalog.invalidate(client.server);
    }
  }

  /**
   * A server's shared connection is back after it was lost (its process restarted): the sessions that
   * use it set their subscriptions and log level up again at once, since a session that only waits for
   * updates may never send the call that would find out.
   */
  onSharedReconnected(client: UpstreamClient): void {
    setSessionsUpAgain(this.upstreams.get(client.server), client, this.relays, this.options);
  }

  /**
   * A server's shared connection is up (first or again): its lists are fetched now, those that failed
   * meanwhile included, and the clients that see it get list_changed for each list that came back
   * after being left out (Catalog's onReturned) or that differs from before (a restart may bring
   * another version of the server).
   */
  onSharedReady(client: UpstreamClient): void {
    relistServer(this.catalog, this.listFingerprints, this.options, client.server, 'reconnected');
  }

  /**
   * The server's shared connection moved to another replica: its lists are fetched there again, and
   * the sessions that see the server are told of each list that is not what it was.
   */
  onSharedMoved(server: string): void {
    relistServer(this.catalog, this.listFingerprints, this.options, server, 'moved');
  }
}

/** Waits for `work`, but no longer than `ms`. */
function settledWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([work.then(() => undefined), timeout]).finally(() => clearTimeout(timer));
}
