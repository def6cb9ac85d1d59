export { GatewayHttpServer, listenExtraRoutes } from './http-server.js';
export type { HttpServerOptions, ReadinessReport, ExtraRoutes, HttpAuth } from './http-server.js';
export { MessageHandler, GATEWAY_INFO } from './message-handler.js';
export type { RelayHooks } from './message-handler.js';
export { serveStdio } from './stdio-front.js';
export { isLoopbackAddress } from './http-guard.js';
export { checkOrigin, type OriginPolicy } from './http-guard.js';
export { requestIdentity } from './request-identity.js';
export { clientAddressOf, STDIO_CLIENT } from './client-address.js';
