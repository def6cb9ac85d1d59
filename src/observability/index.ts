export { createLogger } from './logger.js';
export type { Logger } from './logger.js';
export { GatewayMetrics, REQUEST_DURATION_BUCKETS } from './metrics.js';
export type { AuditQueueSource, CallerLabel, GatewayMetricsOptions, MetricsCaller, UpstreamMetricsSource } from './metrics.js';
export { openJsonLinesSink, type AuditSink } from './audit-sink.js';
