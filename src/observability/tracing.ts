import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, defaultTextMapSetter, trace, type Context, type Span, type TextMapPropagator, type Tracer } from '@opentelemetry/api';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { CallTrace, TraceAttributes, TraceStep, UpstreamCallTrace } from '../core/index.js';
import { otlpUrl, rareWarning } from './otlp-endpoint.js';

export interface TracingOptions {
  /** The collector's OTLP/HTTP base URL (/v1/traces is appended). */
  readonly endpoint: string;
  readonly serviceName: string;
  readonly serviceVersion: string;
  /** Share of traces started here that are kept (0..1); a client's sampled flag decides for its own traces. */
  readonly sampleRatio: number;
  /** Sent with every export (a collector's API key). */
  readonly headers: Readonly<Record<string, string>>;
  readonly warn: (message: string, detail: Record<string, unknown>) => void;
  /** How long spans wait to be sent in a batch (OTel's default 5 s). */
  readonly batchDelayMs?: number;
}

/** What the tracer reads of a downstream request (structural: observability imports no protocol types). */
export interface TracedRequest {
  readonly id: string | number;
  readonly method: string;
  readonly params?: Readonly<Record<string, unknown>> | undefined;
}

/** What the tracer reads of the session that sent it. */
export interface TracedSession {
  readonly id: string;
  readonly protocolVersion: string;
  readonly identity: { readonly kind: string; readonly subject: string };
}

/** Where a client's trace context may come from: the HTTP request's headers (node's IncomingHttpHeaders fits). */
export type TraceCarrier = Readonly<Record<string, string | string[] | undefined>>;

/** What the request turned out to be aimed at, once resolved (the pipeline's CallTarget fits). */
export interface TracedTarget {
  readonly server: string;
  readonly name: string;
}

const MAX_NAME_IN_SPAN_NAME = 200;

/** Starts the server span of each downstream request (frontends/message-handler.ts). */
export interface RequestTracer {
  startRequest(session: TracedSession, request: TracedRequest, carrier: TraceCarrier | undefined): RequestTrace;
}

/**
 * OpenTelemetry tracing of downstream requests, exported over OTLP/HTTP (JSON). Owns the tracer
 * provider and its exporter. Nothing is registered globally (no global provider, no context
 * manager): spans are parented explicitly through the CallTrace each request carries, so the gateway
 * never pays for AsyncLocalStorage, and tracing off means no Tracing object at all.
 */
export class Tracing implements RequestTracer {
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly tracer: Tracer,
    private readonly propagator: TextMapPropagator,
    private readonly provider: { forceFlush(): Promise<void>; shutdown(): Promise<void> },
  ) {}

  /** The SDK is loaded here, on demand: a gateway with tracing off never loads it. */
  static async open(options: TracingOptions): Promise<Tracing> {
    const [{ TracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler }, { OTLPTraceExporter }, { resourceFromAttributes }, { W3CTraceContextPropagator, ExportResultCode }] =
      await Promise.all([import('@opentelemetry/sdk-trace'), import('@opentelemetry/exporter-trace-otlp-http'), import('@opentelemetry/resources'), import('@opentelemetry/core')]);
    const otlp = new OTLPTraceExporter({ url: otlpUrl(options.endpoint, '/v1/traces'), headers: { ...options.headers } });
    const warn = rareWarning(options.warn);
    // A collector that is down must not go unnoticed, nor fill the log: one warning a minute at most.
    const exporter: SpanExporter = {
      export: (spans, done) =>
        otlp.export(spans, (result) => {
          if (result.code !== ExportResultCode.SUCCESS) warn('tracing: spans could not be exported', { endpoint: options.endpoint, reason: result.error?.message ?? 'unknown' });
          done(result);
        }),
      shutdown: () => otlp.shutdown(),
      forceFlush: () => otlp.forceFlush(),
    };
    const provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': options.serviceName, 'service.version': options.serviceVersion }),
      // Parent-based: a client's sampled decision is kept, so its trace is whole or absent, never torn.
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(options.sampleRatio) }),
      // Names come from clients: bound what one attribute may carry.
      spanLimits: { attributeValueLengthLimit: 1024 },
      spanProcessors: [new BatchSpanProcessor({ exporter, ...(options.batchDelayMs !== undefined ? { scheduledDelayMillis: options.batchDelayMs } : {}) })],
    });
    return new Tracing(provider.getTracer('gatehouse', options.serviceVersion), new W3CTraceContextPropagator(), provider);
  }

  /**
   * The server span of one request, parented on the client's trace context: `_meta.traceparent`
   * first (SEP-414: it travels with the message, so it is exact even in a batch), else the HTTP
   * request's `traceparent` header.
   */
  startRequest(session: TracedSession, request: TracedRequest, carrier: TraceCarrier | undefined): RequestTrace {
    const params = request.params;
    const meta = params?._meta as Record<string, unknown> | undefined;
    const parentCarrier: TraceCarrier | undefined =
      typeof meta?.traceparent === 'string' ? { traceparent: meta.traceparent, tracestate: typeof meta.tracestate === 'string' ? meta.tracestate : undefined } : carrier;
    const parent = parentCarrier?.traceparent === undefined ? ROOT_CONTEXT : this.propagator.extract(ROOT_CONTEXT, parentCarrier, defaultTextMapGetter);
    const attributes: Record<string, string | number | boolean> = {
      'mcp.method.name': request.method,
      'jsonrpc.request.id': String(request.id),
      'mcp.session.id': session.id,
      'mcp.protocol.version': session.protocolVersion,
    };
    if (session.identity.kind !== 'anonymous') attributes['user.id'] = session.identity.subject;
    const named = itemAttribute(request.method);
    const requested = named === undefined ? undefined : params?.[named === 'mcp.resource.uri' ? 'uri' : 'name'];
    if (named !== undefined && typeof requested === 'string') attributes[named] = requested;
    // A span name is not subject to the attribute length limit, and the name is the client's to choose.
    const name = typeof requested === 'string' ? `${request.method} ${requested.slice(0, MAX_NAME_IN_SPAN_NAME)}` : request.method;
    const span = this.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
    return new RequestTrace(this.tracer, this.propagator, span);
  }

  /** Ends export: what is buffered is sent (flushed), then the exporter closes. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.provider.shutdown().catch(() => undefined);
    return this.closing;
  }
}

/** OTel semantic conventions for MCP: the attribute naming what a method is about. */
function itemAttribute(method: string): string | undefined {
  switch (method) {
    case 'tools/call':
      return 'gen_ai.tool.name';
    case 'prompts/get':
      return 'gen_ai.prompt.name';
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe':
      return 'mcp.resource.uri';
    default:
      return undefined;
  }
}

/** One request's server span, and the parent of the spans filters and the router open under it. */
export class RequestTrace implements CallTrace {
  private readonly context: Context;

  constructor(
    private readonly tracer: Tracer,
    private readonly propagator: TextMapPropagator,
    readonly span: Span,
  ) {
    this.context = trace.setSpan(ROOT_CONTEXT, span);
  }

  step(name: string, attributes?: TraceAttributes): TraceStep {
    return new SpanStep(this.tracer.startSpan(name, { kind: SpanKind.INTERNAL, ...(attributes !== undefined ? { attributes } : {}) }, this.context));
  }

  upstreamCall(server: string, method: string): UpstreamCallTrace {
    const span = this.tracer.startSpan(`upstream ${method}`, { kind: SpanKind.CLIENT, attributes: { 'mcp.method.name': method, 'gatehouse.server': server } }, this.context);
    const carrier: { traceparent?: string; tracestate?: string } = {};
    this.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
    return new UpstreamSpan(span, carrier.traceparent ?? '', carrier.tracestate);
  }

  /**
   * Ends the server span with where the request went and what came of it. `outcome` is the JSON-RPC
   * answer (undefined when the client cancelled it).
   */
  finish(target: TracedTarget | undefined, outcome: unknown): void {
    const { span } = this;
    if (target !== undefined) {
      span.setAttribute('gatehouse.server', target.server);
      span.setAttribute('gatehouse.target', target.name);
    }
    const error = errorOf(outcome);
    span.setAttribute('gatehouse.outcome', error === undefined ? 'ok' : 'error');
    if (error !== undefined) {
      span.setAttribute('error.type', error.type);
      if (error.rpcCode !== undefined) span.setAttribute('rpc.jsonrpc.error_code', error.rpcCode);
      span.setStatus({ code: SpanStatusCode.ERROR, message: error.type });
    }
    span.end();
  }
}

/** What went wrong, from a JSON-RPC answer: the catalogue code (`data.reason`) or the JSON-RPC code; `tool_error` for an isError result. */
function errorOf(outcome: unknown): { type: string; rpcCode?: number } | undefined {
  if (outcome === undefined || outcome === null) return { type: 'request_cancelled' };
  if (typeof outcome !== 'object') return undefined;
  if ('error' in outcome) {
    const failure = outcome.error as { code?: unknown; data?: { reason?: unknown } } | undefined;
    const code = typeof failure?.code === 'number' ? failure.code : undefined;
    const reason = failure?.data?.reason;
    return { type: typeof reason === 'string' ? reason : String(code ?? 'error'), ...(code !== undefined ? { rpcCode: code } : {}) };
  }
  // OTel semantic conventions for MCP: a tool result with isError is an error of type tool_error.
  if ('result' in outcome && (outcome.result as { isError?: unknown } | undefined)?.isError === true) return { type: 'tool_error' };
  return undefined;
}

class SpanStep implements TraceStep {
  private ended = false;

  constructor(protected readonly span: Span) {}

  set(name: string, value: string | number | boolean): void {
    this.span.setAttribute(name, value);
  }

  end(error?: string): void {
    if (this.ended) return;
    this.ended = true;
    if (error !== undefined) {
      this.span.setAttribute('error.type', error);
      this.span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    }
    this.span.end();
  }
}

class UpstreamSpan extends SpanStep implements UpstreamCallTrace {
  constructor(
    span: Span,
    readonly traceparent: string,
    readonly tracestate: string | undefined,
  ) {
    super(span);
  }
}
