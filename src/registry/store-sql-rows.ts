import type { Selectable } from 'kysely';
import type { RegistryTables } from './migrations.js';
import type { LimitRuleSpec } from './limit-spec.js';
import type { PolicySpec, ServerSpec, ServerStatus, VirtualServerSpec } from './server-spec.js';
import type {
  AdminEvent,
  ApiKeyRecord,
  LearntState,
  LimitRuleRecord,
  PolicyRecord,
  RecordSource,
  ServerRecord,
  ToolFingerprint,
  UserConnectionRecord,
  VirtualServerRecord,
} from './store.js';

/**
 * The SQL store's rows as records: each table's columns turned back into the shapes the `Store`
 * interface hands out, with the JSON columns parsed. Shared by SQLite and PostgreSQL (store-sql.ts).
 */

export type Row<Table extends keyof RegistryTables> = Selectable<RegistryTables[Table]>;

/** Written by this store from values that were objects, so parsing gives back their shape. */
function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

function parseNullableJson<T>(text: string | null): T | null {
  return text === null ? null : parseJson<T>(text);
}

export function toServerRecord(row: Row<'servers'>): ServerRecord {
  return {
    name: row.name,
    spec: parseJson<ServerSpec>(row.spec),
    status: row.status as ServerStatus,
    source: row.source as RecordSource,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toVirtualServerRecord(row: Row<'virtual_servers'>): VirtualServerRecord {
  return {
    name: row.name,
    spec: parseJson<VirtualServerSpec>(row.spec),
    source: row.source as RecordSource,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toPolicyRecord(row: Row<'policies'>): PolicyRecord {
  return {
    id: row.id,
    position: row.position,
    spec: parseJson<PolicySpec>(row.spec),
    source: row.source as RecordSource,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toLimitRuleRecord(row: Row<'limit_rules'>): LimitRuleRecord {
  return {
    name: row.name,
    position: row.position,
    spec: parseJson<LimitRuleSpec>(row.spec),
    source: row.source as RecordSource,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toLearntState(row: Row<'learnt_state'>): LearntState {
  return {
    server: row.server,
    serverInfo: parseNullableJson<Record<string, unknown>>(row.server_info),
    protocolVersion: row.protocol_version,
    capabilities: parseNullableJson<Record<string, unknown>>(row.capabilities),
    instructions: row.instructions,
    tools: parseJson<Record<string, unknown>[]>(row.tools),
    prompts: parseJson<Record<string, unknown>[]>(row.prompts),
    resources: parseJson<Record<string, unknown>[]>(row.resources),
    resourceTemplates: parseJson<Record<string, unknown>[]>(row.resource_templates),
    updatedAt: row.updated_at,
  };
}

export function toFingerprint(row: Row<'tool_fingerprints'>): ToolFingerprint {
  return { server: row.server, tool: row.tool, fingerprint: row.fingerprint, firstSeenAt: row.first_seen_at, lastSeenAt: row.last_seen_at };
}

export function toAdminEvent(row: Row<'admin_events'>): AdminEvent {
  return { id: row.id, at: row.at, actor: row.actor, action: row.action, target: row.target, detail: parseJson<Record<string, unknown>>(row.detail) };
}

export function toUserConnection(row: Row<'user_connections'>): UserConnectionRecord {
  return { server: row.server, subject: row.subject, sealed: row.sealed, createdAt: row.created_at, updatedAt: row.updated_at };
}

export function toApiKey(row: Row<'api_keys'>): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    secretHash: row.secret_hash,
    roles: parseJson<string[]>(row.roles),
    endpoints: parseNullableJson<string[]>(row.endpoints),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    rotatedFrom: row.rotated_from,
    lastUsedAt: row.last_used_at,
    createdBy: row.created_by,
  };
}
