import type { JsonRpcMessage, RequestId } from '../protocol/index.js';

/** Called for every message the server sends. `relatedTo` is the request it answers or belongs to, when the transport knows it. */
export type MessageSink = (message: JsonRpcMessage, relatedTo: RequestId | undefined) => void;

/**
 * Moves JSON-RPC messages to and from one MCP server session. Connectors (stdio, Streamable HTTP,
 * legacy SSE) implement this; `UpstreamClient` adds ids, timeouts and the handshake on top.
 */
export interface UpstreamTransport {
  readonly kind: 'stdio' | 'streamable-http' | 'sse';
  start(sink: MessageSink, onClose: (reason: Error | undefined) => void): Promise<void>;
  /** `headers`: extra HTTP headers for this one message (2026-07-28 `Mcp-Param-*`); other transports ignore them. */
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
