import type { RequestId } from '../protocol/index.js';
import type { UpstreamClient } from '../upstreams/index.js';
import type { ClientLink } from './client-link.js';

/** A client's request being served upstream. */
export interface InflightCall {
  /** Mutable: a 2026-07-28 retry carries a parked call over to the retry's request. */
  session: ClientLink;
  downstreamId: RequestId;
  readonly client: UpstreamClient;
  upstreamId: RequestId | undefined;
  cancelled: boolean;
  /** Set for 2026-07-28 callers: server-to-client requests wait here to become input_required. */
  inputs?: InputWaiter;
}

/** Server requests collected for a stateless caller, and the wake-up of whoever waits for them. */
export interface InputWaiter {
  /** Arrived, not yet put to the client. */
  readonly pending: PendingServerRequest[];
  /** Put to the client in the last input_required round; its retry answers them. */
  asked: PendingServerRequest[];
  wake: (() => void) | undefined;
}

export interface PendingServerRequest {
  readonly jsonrpc: '2.0';
  readonly id: RequestId;
  readonly method: string;
  readonly params?: Record<string, unknown>;
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
  /** The level from logging/setLevel, sent in `_meta` to 2026-07-28 servers (which have no setLevel). */
  logLevel: string | undefined;
  /** The connection each server's calls went to last: a different one means the session moved (session-setup.ts). */
  readonly clients = new Map<string, UpstreamClient>();
}
