export { Upstream, GATEWAY_CLIENT_INFO } from './upstream.js';
export type { UpstreamDefaults, SessionOwner, UpstreamState } from './upstream.js';
export { UpstreamClient } from './upstream-client.js';
export type { ServerIdentity, ServerMessageHandler, RequestOptions, RequestEnvelope } from './upstream-client.js';
export type { UpstreamTransport } from './transport.js';
