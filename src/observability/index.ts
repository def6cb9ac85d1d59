export { createLogger } from './logger.js';
export type { Logger } from './logger.js';
export { GatewayMetrics, REQUEST_DURATION_BUCKETS } from './metrics.js';
export type { AuditQueueSource, CallerLabel, GatewayMetricsOptions, MetricsCaller, UpstreamMetricsSource } from './metrics.js';
export { openJsonLinesSink, type AuditSink } from './audit-sink.js';
export { Tracing, RequestTrace, type TracingOptions, type RequestTracer, type TraceCarrier, type TracedRequest, type TracedSession, type TracedTarget } from './tracing.js';
export { openOtlpLogSink, type OtlpLogSinkOptions } from './otlp-log-sink.js';
