// An OTLP/HTTP receiver in the test process: collects what exporters POST to /v1/traces and /v1/logs
// (OTLP JSON encoding) and flattens it into spans and log records a test can assert on.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type OtlpAttributes = Record<string, string | number | boolean>;

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client. */
  readonly kind: number;
  readonly attributes: OtlpAttributes;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly serviceName: string;
}

export interface ReceivedLogRecord {
  readonly eventName: string | undefined;
  readonly severityText: string | undefined;
  readonly body: unknown;
  readonly attributes: OtlpAttributes;
  readonly serviceName: string;
}

export interface OtlpReceiver {
  /** The base URL an exporter is configured with (it appends /v1/traces or /v1/logs). */
  readonly url: string;
  readonly spans: ReceivedSpan[];
  readonly logs: ReceivedLogRecord[];
  /** POSTs received, by path. */
  readonly posts: Map<string, number>;
  close(): Promise<void>;
}

interface AnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}
interface KeyValue {
  key: string;
  value: AnyValue;
}

function valueOf(value: AnyValue | undefined): string | number | boolean | undefined {
  if (value === undefined) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  return value.boolValue;
}

function attributesOf(list: KeyValue[] | undefined): OtlpAttributes {
  const attributes: OtlpAttributes = {};
  for (const { key, value } of list ?? []) {
    const plain = valueOf(value);
    if (plain !== undefined) attributes[key] = plain;
  }
  return attributes;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const logs: ReceivedLogRecord[] = [];
  const posts = new Map<string, number>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '';
      posts.set(path, (posts.get(path) ?? 0) + 1);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        // Not OTLP JSON (protobuf, or garbage): refused, and counted in posts.
        response.writeHead(400).end();
        return;
      }
      if (path === '/v1/traces') collectSpans(body, spans);
      if (path === '/v1/logs') collectLogs(body, logs);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    logs,
    posts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface ResourceBlock {
  resource?: { attributes?: KeyValue[] };
}

function serviceNameOf(block: ResourceBlock): string {
  return String(attributesOf(block.resource?.attributes)['service.name'] ?? '');
}

function collectSpans(body: Record<string, unknown>, into: ReceivedSpan[]): void {
  type Block = ResourceBlock & { scopeSpans?: { spans?: Record<string, unknown>[] }[] };
  for (const block of (body.resourceSpans as Block[] | undefined) ?? []) {
    const serviceName = serviceNameOf(block);
    for (const scope of block.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        into.push({
          traceId: String(span.traceId),
          spanId: String(span.spanId),
          parentSpanId: typeof span.parentSpanId === 'string' ? span.parentSpanId : '',
          name: String(span.name),
          kind: Number(span.kind),
          attributes: attributesOf(span.attributes as KeyValue[] | undefined),
          statusCode: Number((span.status as { code?: number } | undefined)?.code ?? 0),
          serviceName,
        });
      }
    }
  }
}

function collectLogs(body: Record<string, unknown>, into: ReceivedLogRecord[]): void {
  type Block = ResourceBlock & { scopeLogs?: { logRecords?: Record<string, unknown>[] }[] };
  for (const block of (body.resourceLogs as Block[] | undefined) ?? []) {
    const serviceName = serviceNameOf(block);
    for (const scope of block.scopeLogs ?? []) {
      for (const record of scope.logRecords ?? []) {
        into.push({
          eventName: typeof record.eventName === 'string' ? record.eventName : undefined,
          severityText: typeof record.severityText === 'string' ? record.severityText : undefined,
          body: valueOf(record.body as AnyValue | undefined),
          attributes: attributesOf(record.attributes as KeyValue[] | undefined),
          serviceName,
        });
      }
    }
  }
}
