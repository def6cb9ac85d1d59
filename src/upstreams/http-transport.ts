import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import type { Logger } from '../observability/index.js';
import { toMessage, isRequest, type JsonRpcMessage, type RequestId } from '../protocol/index.js';
import { isModernRevision, standardHeadersFor } from '../protocol/eras/index.js';
import { dispatchPost, type StreamChooser } from './post-dispatch.js';
import { SseDecoder, readSse } from './sse-reader.js';
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
  /** SSE bodies still being read (resumed streams); close() destroys them. */
  private readonly openBodies = new Set<Readable>();
  /** POSTs whose reply is an event stream still open; close() aborts them. */
  private readonly openPosts = new Set<Dispatcher.DispatchController>();
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
    const relatedTo = isRequest(message) ? message.id : undefined;
    // A request's reply (and anything related to it: progress, sampling requests) may come on an
    // event stream: its decoder is ready before the headers, because the first events usually arrive
    // in the same read. No AbortSignal per request (measured: ~3% of gateway CPU); close() aborts
    // open streams instead.
    const stream = relatedTo === undefined ? undefined : new PostStream(this, relatedTo);
    const reply = await dispatchPost(this.options.pool, { path: this.path, headers, body: JSON.stringify(message) }, stream?.choose ?? noStream, this.openPosts);
    if (reply.statusCode === 401 && this.options.credentials !== undefined && !retried) {
      // The gateway's own token expired or was revoked early: get a new one and send once more.
      await reply.text().catch(() => '');
      await this.options.credentials.refresh();
      return this.send(message, extraHeaders, true);
    }
    const sessionHeader = reply.headers['mcp-session-id'];
    if (typeof sessionHeader === 'string') this.sessionId = sessionHeader;
    if (reply.streamed !== undefined) {
      this.consumeStream(reply.streamed, stream!);
      return;
    }
    const carriedSession = this.sessionId !== undefined && !('method' in message && message.method === 'initialize');
    if (reply.statusCode === 404 && carriedSession) throw new SessionExpiredError();
    if (reply.statusCode === 400 && carriedSession) {
      // SDK 1.x servers before the spec's 404 (server-everything among them) answer a forgotten
      // session with 400 and an id-less error naming the session: treat it as expired too.
      const text = await reply.text().catch(() => '');
      if (isLostSessionError(text)) throw new SessionExpiredError();
      if (relatedTo !== undefined && this.deliverJson(text, relatedTo)) return;
      throw new Error(`HTTP 400${text ? `: ${text.slice(0, 200)}` : ''}`);
    }
    if (reply.statusCode === 202 || reply.statusCode === 204) return;
    if (reply.statusCode >= 400) {
      const text = await reply.text().catch(() => '');
      // A JSON-RPC error in the body is the server's own answer; pass it on.
      const contentType = String(reply.headers['content-type'] ?? '');
      if (relatedTo !== undefined && contentType.includes('application/json') && this.deliverJson(text, relatedTo)) return;
      // A refusal of credentials may echo them back (some servers quote the header they rejected):
      // its body is never repeated into messages and logs.
      const shown = reply.statusCode === 401 || reply.statusCode === 403 ? '' : text.slice(0, 200);
      throw new Error(`HTTP ${reply.statusCode}${shown ? `: ${shown}` : ''}`);
    }
    // A notification's reply carries nothing to deliver.
    if (relatedTo === undefined) return;
    const text = await reply.text();
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
   * Follows a POST's SSE stream to its end. Spec 2025-11-25 §Resumability: a server may close the
   * stream before answering (polling); the client then resumes it with GET and Last-Event-ID, after
   * `retry` ms.
   */
  private consumeStream(streamed: Promise<void>, stream: PostStream): void {
    const relatedTo = stream.relatedTo;
    (async () => {
      let broken: unknown;
      try {
        await streamed;
        for (let attempt = 0; !stream.answered && !this.closed && stream.lastEventId !== undefined && attempt < MAX_RESUMES; attempt++) {
          await new Promise((resolve) => setTimeout(resolve, Math.min(stream.retryMs, 10_000)).unref());
          if (this.closed) break;
          const headers = this.headers('text/event-stream');
          headers['last-event-id'] = stream.lastEventId;
          const response = await this.options.pool.request({ path: this.path, method: 'GET', headers });
          if (response.statusCode !== 200) {
            await response.body.dump();
            break;
          }
          this.openBodies.add(response.body);
          try {
            await readSse(response.body, stream.onEvent, stream.onRetry);
          } finally {
            this.openBodies.delete(response.body);
          }
        }
      } catch (error) {
        broken = error;
        if (!this.closed) this.options.logger.debug({ err: String(error) }, 'upstream stream ended with an error');
      }
      if (!stream.answered && !this.closed) {
        // Nothing more will come for this request: fail it now rather than at its timeout. A broken
        // connection (the server died under the call) is a transport failure, which idempotent calls
        // may retry elsewhere; a stream the server ended on purpose without answering is its answer.
        if (broken !== undefined && this.onLost !== undefined) this.onLost(relatedTo, `lost the connection before answering (${String((broken as Error).message ?? broken)}).`);
        else this.sink?.({ jsonrpc: '2.0', id: relatedTo, error: { code: -32000, message: 'The upstream server closed the stream before answering.' } }, relatedTo);
      }
    })();
  }

  /** Delivers one SSE event's message; returns the id when it was a response. */
  onEvent(data: string, relatedTo: RequestId | undefined): RequestId | null | undefined {
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
    for (const post of this.openPosts) post.abort(new Error('transport closed'));
    this.openPosts.clear();
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

const noStream: StreamChooser = () => undefined;

/** A request's POST whose reply may come as an event stream: what was read of it, for resuming. */
class PostStream {
  lastEventId: string | undefined;
  retryMs = 1_000;
  answered = false;

  constructor(
    private readonly transport: StreamableHttpTransport,
    readonly relatedTo: RequestId,
  ) {}

  readonly choose: StreamChooser = (statusCode, headers) => {
    if (statusCode >= 300 || statusCode === 202 || statusCode === 204) return undefined;
    const contentType = headers['content-type'];
    return typeof contentType === 'string' && contentType.includes('text/event-stream') ? new SseDecoder(this.onEvent, this.onRetry) : undefined;
  };

  readonly onEvent = (event: { id?: string | undefined; data: string }): void => {
    if (event.id !== undefined) this.lastEventId = event.id;
    if (this.transport.onEvent(event.data, this.relatedTo) === this.relatedTo) this.answered = true;
  };

  readonly onRetry = (retryMs: number): void => {
    this.retryMs = retryMs;
  };
}
