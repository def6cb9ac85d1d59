/**
 * A downstream request's trace as the parts that add to it see it: filters that do I/O open a step,
 * the router opens a span per attempt to send the request upstream. observability/tracing.ts
 * implements it with OpenTelemetry; with tracing off there is no CallTrace at all (undefined), so the
 * hot path pays one undefined check and allocates nothing.
 */
export interface CallTrace {
  /** An internal child span around one piece of I/O (a counter store, a cache lookup, an audit intent). */
  step(name: string, attributes?: TraceAttributes): TraceStep;
  /** A client child span around one attempt to send the request to `server`, with the context to propagate. */
  upstreamCall(server: string, method: string): UpstreamCallTrace;
}

/**
 * What the pipeline hands the router with a request (CallContext), and what the router notes on it
 * for the filters to read after the call.
 */
export interface CallNotes {
  /** The request's trace when tracing is on. */
  readonly trace: CallTrace | undefined;
  /** Where the call was last sent: the endpoint's URL (origin and path), or `pid:<n>` for a stdio process. */
  upstream: string | undefined;
}

export type TraceAttributes = Readonly<Record<string, string | number | boolean>>;

export interface TraceStep {
  /** Adds an attribute learnt while the step ran (a cache hit, a refusal). */
  set(name: string, value: string | number | boolean): void;
  /** Ends the step; `error` (a catalogue code or message) marks it failed. Idempotent. */
  end(error?: string): void;
}

export interface UpstreamCallTrace extends TraceStep {
  /** W3C Trace Context of this span, for the `traceparent` header and `_meta.traceparent`. */
  readonly traceparent: string;
  readonly tracestate: string | undefined;
}
