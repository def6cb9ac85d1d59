import { GatehouseError } from '../core/index.js';
import type { JsonRpcMessage, RequestId } from '../protocol/index.js';

/** Called for every message the server sends. `relatedTo` is the request it answers or belongs to, when the transport knows it. */
export type MessageSink = (message: JsonRpcMessage, relatedTo: RequestId | undefined) => void;

/**
 * Moves JSON-RPC messages to and from one MCP server session. Connectors (stdio, Streamable HTTP,
 * legacy SSE) implement this; `UpstreamClient` adds ids, timeouts and the handshake on top.
 */
export interface UpstreamTransport {
  readonly kind: 'stdio' | 'streamable-http' | 'sse';
  /** stdio: the server process's id, for memory sampling. */
  readonly pid?: number | undefined;
  /** `onLost`: a request's reply will never come (its stream broke); transports that cannot tell never call it. */
  start(sink: MessageSink, onClose: (reason: Error | undefined) => void, onLost?: (id: RequestId, reason: string) => void): Promise<void>;
  /** `headers`: extra HTTP headers for this one message (2026-07-28 `Mcp-Param-*`, W3C `traceparent`); stdio ignores them. */
  send(message: JsonRpcMessage, headers?: Readonly<Record<string, string>>): Promise<void>;
  /** Called after initialize, so that HTTP transports can send the MCP-Protocol-Version header. */
  setProtocolVersion(version: string): void;
  /** Opens the stream of server-initiated messages, where the transport has one. */
  openEventStream?(): void;
  close(): Promise<void>;
}

/** Raised by a transport when the server no longer knows our session (HTTP 404): re-initialise. */
export class SessionExpiredError extends Error {
  constructor() {
    super('upstream session expired');
    this.name = 'SessionExpiredError';
  }
}

/**
 * A server could not be reached: `unreachable` when no connection could be made, so nothing was sent
 * and any request may be sent again; `lost` when the connection broke after the request left, so only
 * an idempotent one may. Either way the connection to that endpoint is no good for now.
 */
export class UpstreamFailure extends GatehouseError {
  constructor(
    detail: string,
    readonly kind: 'unreachable' | 'lost',
  ) {
    super('upstream_unavailable', detail);
  }
}

/** Error codes of a connection that never opened (Node and undici): the request was not sent. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
/** Error codes of a connection that broke under a request. */
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ETIMEDOUT']);

/** How a transport's send failed, from the error's code; undefined for failures that are answers (HTTP 4xx/5xx). */
export function connectionFailureOf(error: unknown): 'unreachable' | 'lost' | undefined {
  let current: unknown = error;
  // undici wraps the socket error as `cause` of some of its own.
  for (let depth = 0; depth < 3 && current instanceof Error; depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code !== undefined && UNREACHABLE_CODES.has(code)) return 'unreachable';
    if (code !== undefined && LOST_CODES.has(code)) return 'lost';
    current = current.cause;
  }
  return undefined;
}
