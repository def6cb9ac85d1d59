import type { JsonRpcMessage, Params, RequestId } from '../protocol/index.js';
import type { SessionOwner } from '../upstreams/index.js';
import type { View } from './view.js';

/** What the router needs of a downstream session: who it is, what it can do, and a way to reach it. */
export interface ClientLink extends SessionOwner {
  readonly view: View;
  readonly protocolVersion: string;
  readonly clientCapabilities: Params;
  readonly clientInfo: Params;
  /** A 2026-07-28 request's `_meta` log level (legacy sessions set theirs with logging/setLevel). */
  readonly logLevel?: string | undefined;
  /** A 2026-07-28 request's `Mcp-Param-*` headers (lower-case names). */
  readonly paramHeaders?: Readonly<Record<string, string>> | undefined;
  /** Delivers a message to the client; `relatedTo` is the client's request it belongs to, if any. */
  send(message: JsonRpcMessage, relatedTo?: RequestId): void;
}
