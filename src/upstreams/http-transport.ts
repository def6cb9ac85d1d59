import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { Logger } from '../observability/index.js';
import { toMessage, isRequest, type JsonRpcMessage, type RequestId } from '../protocol/index.js';
import { isModernRevision, standardHeadersFor } from '../protocol/eras/index.js';
import { readSse } from './sse-reader.js';
import type { UpstreamCredentials } from './client-credentials.js';
import { SessionExpiredError, type MessageSink, type UpstreamTransport } from './transport.js';

function isLostSessionError(text: string): boolean {
  try {
    const body = JSON.parse(text) as { id?: unknown; error?: { message?: unknown } };
    return (body.id === undefined || body.id === null) && typeof body.error?.message === 'string' && /session/i.test(body.error.message);
  } catch {
    return false;
  }
}

/** How many times one POST stream is resumed before the request is failed. */
const MAX_RESUMES = 20;

export interface HttpTransportOptions {
  url: URL;
  headers: Readonly<Record<string, string>>;
  /** A token the gateway holds for this server (OAuth client credentials), sent as Authorization. */
  credentials?: UpstreamCredentials | undefined;
  pool: Pool;
  logger: Logger;
}

/** Keep-alive pools are per origin and shared by every session to that origin. */
export function createPool(origin: string): Pool {
  // Timeouts are the client's business (UpstreamClient): a tool may legitimately answer after minutes.
  return new Pool(origin, { connections: 128, pipelining: 1, headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 30_000 });
}

/** One Streamable HTTP session with an upstream (spec 2025-11-25 §Transports). */
export class StreamableHttpTransport implements UpstreamTransport {
  readonly kind = 'streamable-http';
  private sink: MessageSink | undefined;
  private onLost: ((id: RequestId, reason: string) => void) | undefined;
  private sessionId: string | undefined;
  private protocolVersion: string | undefined;
  private closed = false;
  /** SSE bodies still being read; close() destroys them. */
  private readonly openBodies = new Set<Readable>();
  private eventStream: AbortController | undefined;
  private readonly baseHeaders: Record<string, string>;
  private readonly path: string;
  /** 2026-07-28: no session, no GET stream, and Mcp-Method / Mcp-Name headers on every request. */
  private modern = false;

  constructor(private readonly options: HttpTransportOptions) {
    this.baseHeaders = { ...options.headers };
    this.path = options.url.pathname + options.url.search;
  }

  start(sink: MessageSink, _onClose?: unknown, onLost?: (id: RequestId, reason: string) => void): Promise<void> {
    this.sink = sink;
    this.onLost = onLost;
    return Promise.resolve();
  }

  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
    this.modern = isModernRevision(version);
  }

  private headers(accept: string): Record<string, string> {
    const headers: Record<string, string> = { ...this.baseHeaders, accept };
    const authorization = this.options.credentials?.header();
    if (authorization !== undefined) headers.authorization = authorization;
    if (this.sessionId !== undefined) headers['mcp-session-id'] = this.sessionId;
    if (this.protocolVersion !== undefined) headers['mcp-protocol-version'] = this.protocolVersion;
    return headers;
  }

  async send(message: JsonRpcMessage, extraHeaders?: Readonly<Record<string, string>>, retried = false): Promise<void> {
    if (this.closed) throw new Error('transport closed');
    const headers = this.headers('application/json, text/event-stream');
    headers['content-type'] = 'application/json';
    if (extraHeaders) Object.assign(headers, extraHeaders);
    if (this.modern && 'method' in message) {
      // Lower-case keys, so they replace (not duplicate) the ones headers() set.
      for (const [name, value] of Object.entries(standardHeadersFor(message, this.protocolVersion!))) headers[name.toLowerCase()] = value;
    }
    // No AbortSignal per request (measured: ~3% of gateway CPU); close() destroys open streams instead.
    const response = await this.options.pool.request({ path: this.path, method: 'POST', headers, body: JSON.stringify(message) });
    if (response.statusCode === 401 && this.options.credentials !== undefined && !retried) {
      // The gateway's own token expired or was revoked early: get a new one and send once more.
      await response.body.dump();
      await this.options.credentials.refresh();
      return this.send(message, extraHeaders, true);
    }
    const relatedTo = isRequest(message) ? message.id : undefined;
    const sessionHeader = response.headers['mcp-session-id'];
    if (typeof sessionHeader === 'string') this.sessionId = sessionHeader;
    const carriedSession = this.sessionId !== undefined && !('method' in message && message.method === 'initialize');
    if (response.statusCode === 404 && carriedSession) {
      await response.body.dump();
      throw new SessionExpiredError();
    }
    if (response.statusCode === 400 && carriedSession) {
      // SDK 1.x servers before the spec's 404 (server-everything among them) answer a forgotten
      // session with 400 and an id-less error naming the session: treat it as expired too.
      const text = await response.body.text().catch(() => '');
      if (isLostSessionError(text)) throw new SessionExpiredError();
      if (isRequest(message) && this.deliverJson(text, message.id)) return;
      throw new Error(`HTTP 400${text ? `: ${text.slice(0, 200)}` : ''}`);
    }
    if (response.statusCode === 202 || response.statusCode === 204) {
      await response.body.dump();
      return;
    }
    const contentType = String(response.headers['content-type'] ?? '');
    if (response.statusCode >= 400 || relatedTo === undefined) {
      const text = await response.body.text().catch(() => '');
      if (response.statusCode < 400) return;
      // A JSON-RPC error in the body is the server's own answer; pass it on.
      if (relatedTo !== undefined && contentType.includes('application/json') && this.deliverJson(text, relatedTo)) return;
      // A refusal of credentials may echo them back (some servers quote the header they rejected):
      // its body is never repeated into messages and logs.
      const shown = response.statusCode === 401 || response.statusCode === 403 ? '' : text.slice(0, 200);
      throw new Error(`HTTP ${response.statusCode}${shown ? `: ${shown}` : ''}`);
    }
    if (contentType.includes('text/event-stream')) {
      // The reply and anything related to it (progress, sampling requests) arrive on this stream.
      this.consumeStream(response.body, relatedTo);
      return;
    }
    const text = await response.body.text();
    if (!this.deliverJson(text, relatedTo)) throw new Error('upstream answered with a body that is not JSON-RPC');
  }

  private deliverJson(text: string, relatedTo: RequestId): boolean {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return false;
    }
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    for (const item of messages) {
      // An error without an id (or with id null) answers the request it came back on: servers that
    // reject a request before reading its id answer that way.
      const idless = typeof item === 'object' && item !== null && 'error' in item && ((item as { id?: unknown }).id ?? null) === null;
      const value = idless ? { ...(item as object), id: relatedTo } : item;
      try {
        this.sink?.(toMessage(value), relatedTo);
      } catch {
        return false;
      }
    }
    return true;
  }

  /**
   * Reads a POST's SSE stream. Spec 2025-11-25 §Resumability: a server may close the stream before
   * answering (polling); the client then resumes it with GET and Last-Event-ID, after `retry` ms.
   */
  private consumeStream(body: Readable, relatedTo: RequestId): void {
    this.openBodies.add(body);
    const progress = { lastEventId: undefined as string | undefined, retryMs: 1_000, answered: false };
    const onEvent = (event: { id?: string | undefined; data: string }): void => {
      if (event.id !== undefined) progress.lastEventId = event.id;
      if (this.onEvent(event.data, relatedTo) === relatedTo) progress.answered = true;
    };
    const onRetry = (retryMs: number): void => {
      progress.retryMs = retryMs;
    };
    (async () => {
      let broken: unknown;
      try {
        await readSse(body, onEvent, onRetry);
        this.openBodies.delete(body);
        for (let attempt = 0; !progress.answered && !this.closed && progress.lastEventId !== undefined && attempt < MAX_RESUMES; attempt++) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(progress.retryMs, 10_000)).unref());
          if (this.closed) break;
          const headers = this.headers('text/event-stream');
          headers['last-event-id'] = progress.lastEventId;
          const response = await this.options.pool.request({ path: this.path, method: 'GET', headers });
          if (response.statusCode !== 200) {
            await response.body.dump();
            break;
          }
          this.openBodies.add(response.body);
          await readSse(response.body, onEvent, onRetry);
          this.openBodies.delete(response.body);
        }
      } catch (error) {
        broken = error;
        if (!this.closed) this.options.logger.debug({ err: String(error) }, 'upstream stream ended with an error');
      } finally {
        this.openBodies.delete(body);
      }
      if (!progress.answered && !this.closed) {
        // Nothing more will come for this request: fail it now rather than at its timeout. A broken
        // connection (the server died under the call) is a transport failure, which idempotent calls
        // may retry elsewhere; a stream the server ended on purpose without answering is its answer.
        if (broken !== undefined && this.onLost !== undefined) this.onLost(relatedTo, `lost the connection before answering (${String((broken as Error).message ?? broken)}).`);
        else this.sink?.({ jsonrpc: '2.0', id: relatedTo, error: { code: -32000, message: 'The upstream server closed the stream before answering.' } }, relatedTo);
      }
    })();
  }

  /** Delivers one SSE event's message; returns the id when it was a response. */
  private onEvent(data: string, relatedTo: RequestId | undefined): RequestId | null | undefined {
    if (data.length === 0) return undefined; // priming events carry only an id
    try {
      const message = toMessage(JSON.parse(data));
      this.sink?.(message, relatedTo);
      return 'method' in message ? undefined : message.id;
    } catch {
      this.options.logger.warn({ data: data.slice(0, 200) }, 'upstream sent an SSE event that is not JSON-RPC; ignored');
      return undefined;
    }
  }

  /** The GET stream for server-initiated messages; reconnects with backoff until closed. */
  openEventStream(): void {
    if (this.eventStream || this.closed || this.modern) return;
    const abort = new AbortController();
    this.eventStream = abort;
    void this.runEventStream(abort);
  }

  private async runEventStream(abort: AbortController): Promise<void> {
    let delayMs = 250;
    let lastEventId: string | undefined;
    while (!abort.signal.aborted && !this.closed) {
      try {
        const headers = this.headers('text/event-stream');
        if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
        const response = await this.options.pool.request({
          path: this.path,
          method: 'GET',
          headers,
          signal: abort.signal,
        });
        if (response.statusCode !== 200) {
          await response.body.dump();
          // 405: the server offers no GET stream (spec allows it). Anything else: stop too, and say so.
          if (response.statusCode !== 405) this.options.logger.debug({ status: response.statusCode }, 'upstream GET stream refused');
          return;
        }
        delayMs = 250;
        await readSse(response.body, (event) => {
          if (event.id !== undefined) lastEventId = event.id;
          this.onEvent(event.data, undefined);
        });
      } catch {
        if (abort.signal.aborted || this.closed) return;
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs).unref());
      delayMs = Math.min(delayMs * 2, 10_000);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.eventStream?.abort();
    for (const body of this.openBodies) body.destroy();
    this.openBodies.clear();
    if (this.sessionId === undefined) return;
    // Spec §Session Management: clients SHOULD DELETE a session they no longer need. Best effort.
    try {
      const response = await this.options.pool.request({
        path: this.path,
        method: 'DELETE',
        headers: this.headers('application/json'),
        signal: AbortSignal.timeout(2_000),
      });
      await response.body.dump();
    } catch {
      // The server may already be gone.
    }
  }
}
