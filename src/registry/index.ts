export * from './server-spec.js';
export * from './limit-spec.js';
export type * from './store.js';
export { AUDIT_GENESIS_HASH, auditHash, verifyAudit } from './audit-store.js';
export type { AuditCall, AuditResult, AuditEntry, AuditRecord, AuditOutcome, AuditLink, AuditQuery, AuditStore, AuditProblem, AuditVerification } from './audit-store.js';
export { MemoryAuditStore } from './audit-store-memory.js';
export { SqlAuditStore, type AuditTables } from './audit-store-sql.js';
export { Registry } from './registry.js';
export type { RegistryOptions, FileDeclarations, EffectiveCatalog } from './registry.js';
export { toolFingerprint, canonicalJson } from './canonical-json.js';
export { maskSecrets, MASK } from './server-records.js';
export type { SearchQuery, SearchHit } from './registry-search.js';
export {
  API_KEY_PREFIX,
  API_KEY_LENGTH,
  isApiKeyToken,
  isApiKeyId,
  parseApiKey,
  generateApiKey,
  hashSecret,
  secretMatches,
  parseDuration,
  durationSchema,
  DURATION_RULE,
  apiKeyNameSchema,
  roleNameSchema,
  apiKeyGrantSchema,
  apiKeyState,
} from './api-keys.js';
export type {
  GeneratedApiKey,
  ParsedApiKey,
  ApiKeyGrant,
  ApiKeyState,
  ApiKey,
  ApiKeyExpiry,
  CreateApiKeyInput,
  RotateApiKeyInput,
  IssuedApiKey,
  RotatedApiKey,
} from './api-keys.js';
export { openStore, sqliteFileOf } from './open-store.js';
export type { OpenStoreOptions } from './open-store.js';
export { MemoryStore } from './store-memory.js';
export { SqliteStore, openSqliteStore } from './store-sqlite.js';
export { PostgresStore, openPostgresStore } from './store-postgres.js';
export type { StoreOptions } from './store-records.js';
export { LATEST_SCHEMA_VERSION, migrateToLatest } from './migrations.js';
export type { RegistryTables, SqlDialectName } from './migrations.js';
export { fromServerJson, toServerJson, SERVER_JSON_SCHEMA_URL, SERVER_JSON_SCHEMA_VERSIONS } from './manifest-formats.js';
export type { ServerJsonImport, ServerJsonImportOptions, ImportedServerSpec } from './manifest-formats.js';
export { toClientConfig, gatewayClientConfig } from './manifest-client-config.js';
export type { ClientFlavour, GatewayEndpoint } from './manifest-client-config.js';
export { checkStdioRegistration, DEFAULT_ALLOWED_COMMANDS } from './command-policy.js';
export type { StdioRegistration, CommandPolicy } from './command-policy.js';
export { SealedBox } from './sealed-box.js';
export { UserConnections, CALLBACK_PATH, START_PATH, type OAuthServer, type UserConnectionsOptions, type FlowDescription } from './user-connections.js';
