import { ANONYMOUS, type Identity } from '../core/index.js';
import type { JsonRpcMessage, Params, RequestId } from '../protocol/index.js';

/** How a session reaches its client; each frontend (Streamable HTTP, legacy SSE, stdio) provides one. */
export interface ClientChannel {
  send(message: JsonRpcMessage, relatedTo: RequestId | undefined): void;
  /** Ends the transport side of the session (streams, sockets). Idempotent. */
  close(): void;
}

/** Which endpoint the session was opened on (see router's View). */
export interface SessionView {
  readonly name: string;
  readonly kind: 'aggregate' | 'server' | 'virtual';
  readonly servers: readonly string[];
  readonly prefixed: boolean;
}

/**
 * One downstream session: who the client is, the revision and capabilities it negotiated, and the
 * channel to reach it. Relay bookkeeping lives in the router; transport state in the frontend.
 */
export class ClientSession {
  protocolVersion: string;
  clientCapabilities: Params = {};
  clientInfo: Params = {};
  initialized = false;
  lastSeen = Date.now();
  closed = false;
  /** A 2026-07-28 request's one-shot session: no handshake, no store entry, nothing kept after it. */
  stateless = false;
  /** A 2026-07-28 request's `_meta` log level: log lines flow only when it is set. */
  logLevel: string | undefined;
  /** Who opened the session; every later request must come from the same principal. */
  identity: Identity = ANONYMOUS;
  /**
   * The client's address, read once when the session opens: the peer IP of an HTTP client, `stdio`
   * for the stdio front. Limits can key on it (`key: [client]`) when callers are not authenticated.
   */
  clientAddress = '';
  /** A 2026-07-28 request's `Mcp-Param-*` headers (lower-case names), checked against the tool's schema. */
  paramHeaders: Readonly<Record<string, string>> | undefined;

  constructor(
    readonly id: string,
    /** Replaced when the endpoint's definition changes (hot reload); the session stays. */
    public view: SessionView,
    protocolVersion: string,
    public channel: ClientChannel,
  ) {
    this.protocolVersion = protocolVersion;
  }

  send(message: JsonRpcMessage, relatedTo?: RequestId): void {
    if (!this.closed) this.channel.send(message, relatedTo);
  }

  touch(): void {
    this.lastSeen = Date.now();
  }
}
