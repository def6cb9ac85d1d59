export { MetricsFilter, type RequestMetricsSink } from './metrics-filter.js';
