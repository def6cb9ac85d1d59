export { GatewayHttpServer } from './http-server.js';
export type { HttpServerOptions, ReadinessReport } from './http-server.js';
export { MessageHandler, GATEWAY_INFO } from './message-handler.js';
export type { CallContext, RelayHooks } from './message-handler.js';
export { serveStdio } from './stdio-front.js';
export { isLoopbackAddress } from './http-guard.js';
