import type { RequestId } from '../protocol/index.js';
import type { UpstreamClient } from '../upstreams/index.js';
import type { ClientLink } from './client-link.js';

/** A client's request being served upstream. */
export interface InflightCall {
  readonly session: ClientLink;
  readonly downstreamId: RequestId;
  readonly client: UpstreamClient;
  upstreamId: RequestId | undefined;
  cancelled: boolean;
}

/** A server's request waiting for the client's answer. */
export interface PendingClientRequest {
  readonly client: UpstreamClient;
  readonly upstreamId: RequestId;
}

/** Per-session relay bookkeeping: what is in flight each way, and what the session subscribed to. */
export class RelayState {
  readonly inflight = new Map<RequestId, InflightCall>();
  readonly clientRequests = new Map<string, PendingClientRequest>();
  /** Exposed URI → (server, original URI). */
  readonly subscriptions = new Map<string, { server: string; uri: string }>();
  /** Servers this session set a logging level on. */
  readonly loggingServers = new Set<string>();
  lastActive = 0;
}
