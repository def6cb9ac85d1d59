import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics of one gateway (issue #7). Each Gateway owns a private prom-client `Registry`
 * (never the global one), so several gateways in one process (the tests) keep separate counts.
 *
 * The hot path touches plain numbers only: a request adds to a `RequestSeries` found through nested
 * maps keyed by its label values (no string building, no allocation after a series' first call), and
 * everything else (in-flight, sessions, upstream state, restarts) is read from live state when
 * Prometheus scrapes. prom-client formats the text; its own label hashing (about 1.7 µs per
 * observe+inc on the development VM) stays off the per-call path.
 */

/** Caller attributes an operator may add as labels; none by default, since users and keys are unbounded. */
export type CallerLabel = 'team' | 'user' | 'key';

/** The parts of a caller's identity the caller labels read (core's Identity has this shape). */
export interface MetricsCaller {
  readonly kind: string;
  readonly subject: string;
  readonly team?: string | undefined;
}

/** What the upstream gauges read of one running server at scrape time. */
export interface UpstreamMetricsSource {
  readonly name: string;
  readonly state: string;
  /** Process restarts of this instance (stdio); a replaced instance starts again from 0. */
  readonly restarts: number;
  readonly inflightCount: number;
  /** The server's circuit breaker, when it has one. */
  readonly breaker?: { readonly state: string; readonly opens: number } | undefined;
}

export interface GatewayMetricsOptions {
  /** Node process metrics (CPU, memory, event-loop lag, GC, handles) under their standard names. */
  defaultMetrics: boolean;
  callerLabels: readonly CallerLabel[];
  version: string;
  /** Open downstream sessions, read at scrape time. */
  sessions(): Iterable<{ readonly view: { readonly kind: string } }>;
  /** The running upstreams, read at scrape time. */
  upstreams(): Iterable<UpstreamMetricsSource>;
  /** The audit trail's write queue, when audit is on. */
  audit?: (() => AuditQueueSource | undefined) | undefined;
  /** The response cache's lookups since start, when a cache is configured. */
  cache?: (() => { readonly hits: number; readonly misses: number } | undefined) | undefined;
}

/** What the audit gauges read of the audit writer at scrape time. */
export interface AuditQueueSource {
  /** Records waiting to be written. */
  readonly depth: number;
  /** Records thrown away under overload (policy drop), since start. */
  readonly dropped: number;
}

/** Request latency buckets, seconds: MCP calls range from a cached list (sub-millisecond) to minutes-long tools. */
export const REQUEST_DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

const REQUEST_LABELS = ['server', 'kind', 'name', 'method', 'outcome'] as const;
const UPSTREAM_STATES = ['starting', 'ready', 'down'] as const;
const CIRCUIT_STATES = ['closed', 'open', 'half-open'] as const;
const ENDPOINT_KINDS = ['aggregate', 'server', 'virtual'] as const;

type Labels = Record<string, string>;

/** The running totals of one label combination. */
class RequestSeries {
  count = 0;
  sum = 0;
  /** Per-bucket (not cumulative) counts; the last slot counts values above every bound. */
  readonly buckets: Float64Array;

  constructor(readonly labels: Readonly<Labels>) {
    this.buckets = new Float64Array(REQUEST_DURATION_BUCKETS.length + 1);
  }

  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    let slot = 0;
    while (slot < REQUEST_DURATION_BUCKETS.length && seconds > REQUEST_DURATION_BUCKETS[slot]!) slot++;
    this.buckets[slot]!++;
  }
}

/** One level of the label trie: a child per label value, the series at the leaf. */
class SeriesNode {
  readonly children = new Map<string, SeriesNode>();
  series: RequestSeries | undefined;

  child(value: string): SeriesNode {
    let node = this.children.get(value);
    if (node === undefined) {
      node = new SeriesNode();
      this.children.set(value, node);
    }
    return node;
  }
}

const DURATION_NAME = 'gatehouse_request_duration_seconds';
const DURATION_HELP = 'Time from a request entering the pipeline to its answer, by server, kind, name (tool or prompt), method and outcome.';

/** A histogram whose values are the request series' totals, turned into text only when scraped. */
class RequestDurationHistogram extends Histogram<string> {
  constructor(
    registry: Registry,
    labelNames: readonly string[],
    private readonly all: () => Iterable<RequestSeries>,
  ) {
    super({
      name: DURATION_NAME,
      help: DURATION_HELP,
      labelNames: [...labelNames],
      buckets: [...REQUEST_DURATION_BUCKETS],
      registers: [registry],
    });
  }

  override get(): ReturnType<Histogram<string>['get']> {
    return this.getForPromString();
  }

  /** The registry prefers this to get() when writing text (prom-client 15); the base one would read its own (empty) store. */
  async getForPromString(): ReturnType<Histogram<string>['get']> {
    const values: { labels: Labels; value: number; metricName: string }[] = [];
    for (const series of this.all()) {
      let cumulative = 0;
      REQUEST_DURATION_BUCKETS.forEach((bound, index) => {
        cumulative += series.buckets[index]!;
        values.push({ labels: { ...series.labels, le: String(bound) }, value: cumulative, metricName: `${DURATION_NAME}_bucket` });
      });
      values.push({ labels: { ...series.labels, le: '+Inf' }, value: series.count, metricName: `${DURATION_NAME}_bucket` });
      values.push({ labels: series.labels, value: series.sum, metricName: `${DURATION_NAME}_sum` });
      values.push({ labels: series.labels, value: series.count, metricName: `${DURATION_NAME}_count` });
    }
    // prom-client's typings declare `type` as a numeric enum; the registry writes this string as it is.
    return { name: DURATION_NAME, help: DURATION_HELP, type: 'histogram' as never, aggregator: 'sum', collect: () => undefined, values };
  }
}

/**
 * The metrics of one gateway. The request pipeline reports through `requestStarted` and
 * `requestFinished`; the HTTP edge through `authFailed`; the rest is read when scraped.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private inflight = 0;
  private readonly root = new SeriesNode();
  private readonly seriesList: RequestSeries[] = [];
  private readonly labelNames: readonly string[];
  private readonly callerLabels: readonly CallerLabel[];
  private readonly authFailures: Counter<'reason'>;
  /** Restarts and circuit openings by server, summed across replaced upstream instances (a counter never goes down). */
  private readonly restarts = new PerServerTotals((upstream) => upstream.restarts);
  private readonly circuitOpens = new PerServerTotals((upstream) => upstream.breaker?.opens ?? 0);

  constructor(options: GatewayMetricsOptions) {
    this.callerLabels = [...new Set(options.callerLabels)];
    this.labelNames = [...REQUEST_LABELS, ...this.callerLabels];
    const registers = [this.registry];
    const seriesList = this.seriesList;

    new Gauge({ name: 'gatehouse_build_info', help: 'The running Gatehouse version (always 1).', labelNames: ['version'], registers }).set(
      { version: options.version },
      1,
    );
    new Counter<string>({
      name: 'gatehouse_requests_total',
      help: 'Requests through the pipeline (every client request but initialize and ping), by server, kind, name (tool or prompt), method and outcome.',
      labelNames: [...this.labelNames],
      registers,
      collect() {
        this.reset();
        for (const series of seriesList) this.inc(series.labels, series.count);
      },
    });
    new RequestDurationHistogram(this.registry, this.labelNames, () => seriesList);

    const metrics = this;
    new Gauge({
      name: 'gatehouse_inflight_requests',
      help: 'Requests in the pipeline now.',
      registers,
      collect() {
        this.set(metrics.inflight);
      },
    });
    new Gauge<'endpoint_kind'>({
      name: 'gatehouse_sessions',
      help: 'Open downstream sessions, by the kind of endpoint they were opened on (aggregate /mcp, one server, a virtual server).',
      labelNames: ['endpoint_kind'],
      registers,
      collect() {
        const counts: Record<string, number> = { aggregate: 0, server: 0, virtual: 0 };
        for (const session of options.sessions()) counts[session.view.kind] = (counts[session.view.kind] ?? 0) + 1;
        for (const kind of ENDPOINT_KINDS) this.set({ endpoint_kind: kind }, counts[kind] ?? 0);
      },
    });
    new Gauge<'server'>({
      name: 'gatehouse_upstream_up',
      help: '1 when the server\'s shared connection is ready, else 0.',
      labelNames: ['server'],
      registers,
      collect() {
        this.reset();
        for (const upstream of options.upstreams()) this.set({ server: upstream.name }, upstream.state === 'ready' ? 1 : 0);
      },
    });
    new Gauge<'server' | 'state'>({
      name: 'gatehouse_upstream_state',
      help: 'The state of each server\'s shared connection: 1 for the current state, 0 for the others.',
      labelNames: ['server', 'state'],
      registers,
      collect() {
        this.reset();
        for (const upstream of options.upstreams()) {
          for (const state of UPSTREAM_STATES) this.set({ server: upstream.name, state }, upstream.state === state ? 1 : 0);
        }
      },
    });
    new Gauge<'server'>({
      name: 'gatehouse_upstream_inflight_requests',
      help: 'Requests sent to the server and not yet answered, over all its connections.',
      labelNames: ['server'],
      registers,
      collect() {
        this.reset();
        for (const upstream of options.upstreams()) this.set({ server: upstream.name }, upstream.inflightCount);
      },
    });
    new Counter<'server'>({
      name: 'gatehouse_upstream_restarts_total',
      help: 'Restarts of a stdio server\'s process after it exited or could not start.',
      labelNames: ['server'],
      registers,
      collect() {
        this.reset();
        for (const [server, total] of metrics.restarts.totals(options.upstreams())) this.inc({ server }, total);
      },
    });
    new Gauge<'server' | 'state'>({
      name: 'gatehouse_upstream_circuit_state',
      help: 'The state of each server\'s circuit breaker: 1 for the current state (closed, open, half-open), 0 for the others.',
      labelNames: ['server', 'state'],
      registers,
      collect() {
        this.reset();
        for (const upstream of options.upstreams()) {
          const breaker = upstream.breaker;
          if (breaker === undefined) continue;
          const current = breaker.state;
          for (const state of CIRCUIT_STATES) this.set({ server: upstream.name, state }, current === state ? 1 : 0);
        }
      },
    });
    new Counter<'server'>({
      name: 'gatehouse_upstream_circuit_opens_total',
      help: 'Times a server\'s circuit breaker opened (calls then fail at once until a trial call succeeds).',
      labelNames: ['server'],
      registers,
      collect() {
        this.reset();
        for (const [server, total] of metrics.circuitOpens.totals(options.upstreams())) this.inc({ server }, total);
      },
    });
    this.authFailures = new Counter({
      name: 'gatehouse_auth_failures_total',
      help: 'Requests refused at the HTTP edge for their credentials or roles, by reason.',
      labelNames: ['reason'],
      registers,
    });
    // Zero the common reasons, so that rate() and the dashboard see a series before the first failure.
    for (const reason of ['missing_credentials', 'invalid_credentials', 'expired', 'insufficient_scope', 'forbidden']) this.authFailures.inc({ reason }, 0);
    const audit = options.audit;
    if (audit !== undefined) {
      new Gauge({
        name: 'gatehouse_audit_queue_depth',
        help: 'Audit records waiting to be written to the store.',
        registers,
        collect() {
          this.set(audit()?.depth ?? 0);
        },
      });
      new Counter({
        name: 'gatehouse_audit_dropped_total',
        help: 'Audit records dropped because the queue was full (audit overload policy drop).',
        registers,
        collect() {
          this.reset();
          this.inc(audit()?.dropped ?? 0);
        },
      });
    }
    const cache = options.cache;
    if (cache !== undefined) {
      new Counter({
        name: 'gatehouse_cache_lookups_total',
        help: 'Response cache lookups of cacheable calls, by result (hit: answered from the cache).',
        labelNames: ['result'],
        registers,
        collect() {
          this.reset();
          const counters = cache();
          this.inc({ result: 'hit' }, counters?.hits ?? 0);
          this.inc({ result: 'miss' }, counters?.misses ?? 0);
        },
      });
    }
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition and its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Hot path: a request entered the pipeline. */
  requestStarted(): void {
    this.inflight++;
  }

  /**
   * Hot path: a request left the pipeline. Every label value must come from a bounded set (a
   * configured server, a listed tool, a catalogue code); the caller's values only when configured.
   */
  requestFinished(method: string, server: string, kind: string, name: string, outcome: string, caller: MetricsCaller, seconds: number): void {
    this.inflight--;
    let node = this.root.child(method).child(server).child(name).child(outcome);
    for (const label of this.callerLabels) node = node.child(callerValue(label, caller));
    let series = node.series;
    if (series === undefined) {
      const labels: Labels = { server, kind, name, method, outcome };
      for (const label of this.callerLabels) labels[label] = callerValue(label, caller);
      series = node.series = new RequestSeries(labels);
      this.seriesList.push(series);
    }
    series.observe(seconds);
  }

  /** A request refused at the HTTP edge: `reason` is a catalogue code or a token failure (bounded sets). */
  authFailed(reason: string): void {
    this.authFailures.inc({ reason });
  }
}

/**
 * A per-server total of a count each upstream instance keeps from 0 (restarts, circuit openings):
 * a changed server is a new instance, and the total must still only grow.
 */
class PerServerTotals {
  private readonly byServer = new Map<string, number>();
  private readonly seen = new WeakMap<UpstreamMetricsSource, number>();

  constructor(private readonly countOf: (upstream: UpstreamMetricsSource) => number) {}

  totals(upstreams: Iterable<UpstreamMetricsSource>): ReadonlyMap<string, number> {
    for (const upstream of upstreams) {
      const count = this.countOf(upstream);
      const seen = this.seen.get(upstream) ?? 0;
      this.seen.set(upstream, count);
      this.byServer.set(upstream.name, (this.byServer.get(upstream.name) ?? 0) + Math.max(0, count - seen));
    }
    return this.byServer;
  }
}

function callerValue(label: CallerLabel, caller: MetricsCaller): string {
  switch (label) {
    case 'team':
      return caller.team ?? '';
    case 'user':
      return caller.kind === 'anonymous' ? '' : caller.subject;
    case 'key':
      return caller.kind === 'api-key' ? caller.subject : '';
  }
}
