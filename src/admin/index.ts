export { createAdminApi, adminRoutes, openApiDocument, openApiDocumentText, ADMIN_API_PREFIX } from './admin-api.js';
export type { AdminApi } from './admin-api.js';
export type { AdminDeps } from './admin-deps.js';
export type { AdminRoute, HttpMethod } from './route.js';
export * from './schemas.js';
