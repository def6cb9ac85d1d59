import type { AuditSink } from './audit-sink.js';
import { otlpUrl, rareWarning } from './otlp-endpoint.js';

export interface OtlpLogSinkOptions {
  /** The collector's OTLP/HTTP base URL (/v1/logs is appended). */
  readonly endpoint: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly serviceName: string;
  readonly serviceVersion: string;
  readonly warn: (message: string, detail: Record<string, unknown>) => void;
  /** How long records wait to be sent in a batch (OTel's default 1 s). */
  readonly scheduledDelayMs?: number;
}

/** Severity by outcome: refusals and failures stand out in a log backend without a query on attributes. */
const SEVERITY = { ok: { number: 9, text: 'INFO' }, denied: { number: 13, text: 'WARN' }, error: { number: 17, text: 'ERROR' } } as const;

/**
 * The audit trail as OpenTelemetry logs over OTLP/HTTP (JSON): one log record per audit record, its
 * fields as attributes (null fields left out), event name `gatehouse.audit`. Batched by the SDK;
 * close() sends what is buffered. The SDK is loaded only when such a sink is configured.
 */
export async function openOtlpLogSink(options: OtlpLogSinkOptions): Promise<AuditSink> {
  const [{ LoggerProvider, BatchLogRecordProcessor }, { OTLPLogExporter }, { resourceFromAttributes }, { ExportResultCode }] = await Promise.all([
    import('@opentelemetry/sdk-logs'),
    import('@opentelemetry/exporter-logs-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
  ]);
  const otlp = new OTLPLogExporter({ url: otlpUrl(options.endpoint, '/v1/logs'), headers: { ...options.headers } });
  const warn = rareWarning(options.warn);
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName, 'service.version': options.serviceVersion }),
    processors: [
      new BatchLogRecordProcessor({
        exporter: {
          export: (records, done) =>
            otlp.export(records, (result) => {
              if (result.code !== ExportResultCode.SUCCESS) warn('audit: records could not be sent to the OTLP sink', { endpoint: options.endpoint, reason: result.error?.message ?? 'unknown' });
              done(result);
            }),
          shutdown: () => otlp.shutdown(),
          forceFlush: () => otlp.forceFlush(),
        },
        ...(options.scheduledDelayMs !== undefined ? { scheduledDelayMillis: options.scheduledDelayMs } : {}),
      }),
    ],
  });
  const logger = provider.getLogger('gatehouse.audit', options.serviceVersion);
  let closing: Promise<void> | undefined;
  return {
    write: (records) => {
      if (closing !== undefined) return;
      for (const record of records) {
        const attributes: Record<string, string | number | boolean> = {};
        for (const [key, value] of Object.entries(record)) {
          if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') attributes[key] = value;
        }
        const severity = SEVERITY[attributes.outcome as keyof typeof SEVERITY] ?? SEVERITY.ok;
        const at = typeof attributes.at === 'string' ? Date.parse(attributes.at) : Number.NaN;
        logger.emit({
          eventName: 'gatehouse.audit',
          ...(Number.isNaN(at) ? {} : { timestamp: at }),
          severityNumber: severity.number,
          severityText: severity.text,
          body: `${String(attributes.method ?? 'call')} ${String(attributes.name ?? '')}`.trim(),
          attributes,
        });
      }
    },
    close: () => (closing ??= provider.shutdown().catch(() => undefined)),
  };
}
