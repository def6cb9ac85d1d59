export { createAdminApi, adminRoutes, openApiDocument, openApiDocumentText, ADMIN_API_PREFIX } from './admin-api.js';
export type { AdminApi } from './admin-api.js';
export type { AdminDeps, EndpointRuntime } from './admin-deps.js';
export type { AdminRoute, HttpMethod } from './route.js';
export * from './schemas.js';
export { connectionApiRoutes, connectionBrowserRoutes, CONNECTIONS_PREFIX, type ConnectionRoutesDeps, type PlainRoutes } from './connection-routes.js';
export { auditRecordSchema, auditPageSchema, auditVerificationSchema, type AuditRecordView } from './audit-routes.js';
