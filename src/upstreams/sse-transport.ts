import { Pool } from 'undici';
import type { Logger } from '../observability/index.js';
import { toMessage, type JsonRpcMessage } from '../protocol/index.js';
import { readSse } from './sse-reader.js';
import type { MessageSink, UpstreamTransport } from './transport.js';

export interface SseTransportOptions {
  url: URL;
  headers: Readonly<Record<string, string>>;
  pool: Pool;
  logger: Logger;
  connectTimeoutMs: number;
}

/**
 * The legacy HTTP+SSE transport (spec 2024-11-05): a GET stream whose first `endpoint` event names
 * the URL to POST messages to; every reply arrives on the stream.
 */
export class SseTransport implements UpstreamTransport {
  readonly kind = 'sse';
  private postUrl: URL | undefined;
  private readonly abort = new AbortController();
  private closed = false;

  constructor(private readonly options: SseTransportOptions) {}

  async start(sink: MessageSink, onClose: (reason: Error | undefined) => void): Promise<void> {
    const { url, pool, headers, logger } = this.options;
    const response = await pool.request({
      path: url.pathname + url.search,
      method: 'GET',
      headers: { ...headers, accept: 'text/event-stream' },
      signal: this.abort.signal,
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`SSE endpoint answered HTTP ${response.statusCode}`);
    }
    let announced: (() => void) | undefined;
    const endpointSeen = new Promise<void>((resolve) => (announced = resolve));
    readSse(response.body, (event) => {
      if (event.event === 'endpoint') {
        // Spec 2024-11-05: the endpoint may be relative; it must share the origin (no SSRF by redirect).
        const target = new URL(event.data, url);
        if (target.origin === url.origin) this.postUrl = target;
        else logger.warn({ endpoint: event.data }, 'SSE server announced a POST endpoint on another origin; refused');
        announced?.();
        return;
      }
      if (event.event !== undefined && event.event !== 'message') return;
      try {
        sink(toMessage(JSON.parse(event.data)), undefined);
      } catch {
        logger.warn({ data: event.data.slice(0, 200) }, 'SSE server sent an event that is not JSON-RPC; ignored');
      }
    })
      .then(() => !this.closed && onClose(new Error('SSE stream ended')))
      .catch((error: unknown) => !this.closed && onClose(error instanceof Error ? error : new Error(String(error))));
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('no endpoint event from the SSE server')), this.options.connectTimeoutMs).unref(),
    );
    await Promise.race([endpointSeen, timeout]);
    if (this.postUrl === undefined) throw new Error('SSE server announced no usable endpoint');
  }

  /** `extraHeaders`: this message's own (the W3C traceparent of its upstream-call span, when tracing is on). */
  async send(message: JsonRpcMessage, extraHeaders?: Readonly<Record<string, string>>): Promise<void> {
    const target = this.postUrl;
    if (target === undefined || this.closed) throw new Error('SSE transport is not connected');
    const response = await this.options.pool.request({
      path: target.pathname + target.search,
      method: 'POST',
      headers: { ...this.options.headers, ...extraHeaders, 'content-type': 'application/json' },
      body: JSON.stringify(message),
      signal: this.abort.signal,
    });
    const text = await response.body.text();
    // A refusal of credentials may echo them: its body never reaches messages and logs.
    const shown = response.statusCode === 401 || response.statusCode === 403 ? '' : text.slice(0, 200);
    if (response.statusCode >= 400) throw new Error(`HTTP ${response.statusCode}${shown ? `: ${shown}` : ''}`);
  }

  setProtocolVersion(): void {}

  close(): Promise<void> {
    this.closed = true;
    this.abort.abort();
    return Promise.resolve();
  }
}
