import { MemoryAuditStore } from './audit-store-memory.js';
import {
  byName,
  canonicalApiKey,
  checkPageLimit,
  compareApiKeys,
  compareFingerprints,
  compareLimitRules,
  comparePolicies,
  compareText,
  duplicateApiKey,
  healthSummaries,
  isoTime,
  nowFrom,
  uniqueFingerprints,
  type HealthTotals,
  type StoreOptions,
} from './store-records.js';
import type {
  AdminEvent,
  ApiKeyRecord,
  AdminEventInput,
  HealthSample,
  HealthSummary,
  LearntState,
  LimitRuleRecord,
  OAuthFlowRecord,
  Page,
  PolicyRecord,
  ServerRecord,
  Store,
  ToolFingerprint,
  UserConnectionRecord,
  VirtualServerRecord,
} from './store.js';

/**
 * The registry in Maps, for tests and `--store memory:`; gone when the process ends. Records are
 * cloned on the way in and out, as a database would, so a caller that mutates what it passed or got
 * back cannot change what is stored.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  readonly audit = new MemoryAuditStore();
  private readonly now: () => string;
  private readonly servers = new Map<string, ServerRecord>();
  private readonly virtualServers = new Map<string, VirtualServerRecord>();
  private readonly policies = new Map<string, PolicyRecord>();
  private readonly limitRules = new Map<string, LimitRuleRecord>();
  private readonly learnt = new Map<string, LearntState>();
  /** server → "tool\0fingerprint" → row */
  private readonly fingerprints = new Map<string, Map<string, ToolFingerprint>>();
  /** In the order recorded, which breaks ties between samples taken at the same instant. */
  private healthSamples: HealthSample[] = [];
  private readonly adminEvents: AdminEvent[] = [];
  private readonly apiKeys = new Map<string, ApiKeyRecord>();
  /** By server, then subject. */
  private readonly userConnections = new Map<string, Map<string, UserConnectionRecord>>();
  private readonly oauthFlows = new Map<string, OAuthFlowRecord>();
  private nextAdminEventId = 1;
  private currentRevision = 0;

  constructor(options: StoreOptions = {}) {
    this.now = nowFrom(options);
  }

  async listServers(): Promise<ServerRecord[]> {
    return structuredClone([...this.servers.values()].sort(byName));
  }

  async getServer(name: string): Promise<ServerRecord | undefined> {
    return structuredClone(this.servers.get(name));
  }

  async putServer(record: Omit<ServerRecord, 'createdAt' | 'updatedAt'>): Promise<ServerRecord> {
    const now = this.now();
    const stored: ServerRecord = {
      name: record.name,
      spec: structuredClone(record.spec),
      status: record.status,
      source: record.source,
      createdAt: this.servers.get(record.name)?.createdAt ?? now,
      updatedAt: now,
    };
    this.servers.set(record.name, stored);
    this.currentRevision += 1;
    return structuredClone(stored);
  }

  async deleteServer(name: string): Promise<boolean> {
    const deleted = this.servers.delete(name);
    this.learnt.delete(name);
    this.fingerprints.delete(name);
    this.healthSamples = this.healthSamples.filter((sample) => sample.server !== name);
    if (deleted) this.currentRevision += 1;
    return deleted;
  }

  async listVirtualServers(): Promise<VirtualServerRecord[]> {
    return structuredClone([...this.virtualServers.values()].sort(byName));
  }

  async getVirtualServer(name: string): Promise<VirtualServerRecord | undefined> {
    return structuredClone(this.virtualServers.get(name));
  }

  async putVirtualServer(record: Omit<VirtualServerRecord, 'createdAt' | 'updatedAt'>): Promise<VirtualServerRecord> {
    const now = this.now();
    const stored: VirtualServerRecord = {
      name: record.name,
      spec: structuredClone(record.spec),
      source: record.source,
      createdAt: this.virtualServers.get(record.name)?.createdAt ?? now,
      updatedAt: now,
    };
    this.virtualServers.set(record.name, stored);
    this.currentRevision += 1;
    return structuredClone(stored);
  }

  async deleteVirtualServer(name: string): Promise<boolean> {
    const deleted = this.virtualServers.delete(name);
    if (deleted) this.currentRevision += 1;
    return deleted;
  }

  async listPolicies(): Promise<PolicyRecord[]> {
    return structuredClone([...this.policies.values()].sort(comparePolicies));
  }

  async getPolicy(id: string): Promise<PolicyRecord | undefined> {
    return structuredClone(this.policies.get(id));
  }

  async putPolicy(record: Omit<PolicyRecord, 'createdAt' | 'updatedAt'>): Promise<PolicyRecord> {
    const now = this.now();
    const stored: PolicyRecord = {
      id: record.id,
      position: record.position,
      spec: structuredClone(record.spec),
      source: record.source,
      createdAt: this.policies.get(record.id)?.createdAt ?? now,
      updatedAt: now,
    };
    this.policies.set(record.id, stored);
    this.currentRevision += 1;
    return structuredClone(stored);
  }

  async deletePolicy(id: string): Promise<boolean> {
    const deleted = this.policies.delete(id);
    if (deleted) this.currentRevision += 1;
    return deleted;
  }

  async listLimitRules(): Promise<LimitRuleRecord[]> {
    return structuredClone([...this.limitRules.values()].sort(compareLimitRules));
  }

  async getLimitRule(name: string): Promise<LimitRuleRecord | undefined> {
    return structuredClone(this.limitRules.get(name));
  }

  async putLimitRule(record: Omit<LimitRuleRecord, 'createdAt' | 'updatedAt'>): Promise<LimitRuleRecord> {
    const now = this.now();
    const stored: LimitRuleRecord = {
      name: record.name,
      position: record.position,
      spec: structuredClone(record.spec),
      source: record.source,
      createdAt: this.limitRules.get(record.name)?.createdAt ?? now,
      updatedAt: now,
    };
    this.limitRules.set(record.name, stored);
    this.currentRevision += 1;
    return structuredClone(stored);
  }

  async deleteLimitRule(name: string): Promise<boolean> {
    const deleted = this.limitRules.delete(name);
    if (deleted) this.currentRevision += 1;
    return deleted;
  }

  async revision(): Promise<number> {
    return this.currentRevision;
  }

  async putLearnt(state: LearntState): Promise<void> {
    this.learnt.set(state.server, { ...structuredClone(state), updatedAt: isoTime(state.updatedAt) });
  }

  async getLearnt(server: string): Promise<LearntState | undefined> {
    return structuredClone(this.learnt.get(server));
  }

  async listLearnt(): Promise<LearntState[]> {
    return structuredClone([...this.learnt.values()].sort((left, right) => compareText(left.server, right.server)));
  }

  async recordFingerprints(server: string, fingerprints: readonly { tool: string; fingerprint: string }[], at: string): Promise<ToolFingerprint[]> {
    const seenAt = isoTime(at);
    const unique = uniqueFingerprints(fingerprints);
    if (unique.length === 0) return [];
    let rows = this.fingerprints.get(server);
    if (rows === undefined) {
      rows = new Map();
      this.fingerprints.set(server, rows);
    }
    for (const { tool, fingerprint } of unique) {
      const key = `${tool}\0${fingerprint}`;
      const known = rows.get(key);
      rows.set(key, { server, tool, fingerprint, firstSeenAt: known?.firstSeenAt ?? seenAt, lastSeenAt: seenAt });
    }
    const tools = new Set(unique.map((entry) => entry.tool));
    return structuredClone([...rows.values()].filter((row) => tools.has(row.tool)).sort(compareFingerprints));
  }

  async listFingerprints(server: string): Promise<ToolFingerprint[]> {
    return structuredClone([...(this.fingerprints.get(server)?.values() ?? [])].sort(compareFingerprints));
  }

  async recordHealth(sample: HealthSample): Promise<void> {
    this.healthSamples.push({ server: sample.server, at: isoTime(sample.at), ok: sample.ok, latencyMs: sample.latencyMs, error: sample.error });
  }

  async healthSummaries(since: string): Promise<HealthSummary[]> {
    const from = isoTime(since);
    const totals = new Map<string, { checks: number; ok: number; latencySum: number; latencyCount: number }>();
    const last = new Map<string, HealthSample>();
    const lastError = new Map<string, HealthSample>();
    for (const sample of this.healthSamples) {
      if (sample.at < from) continue;
      const total = totals.get(sample.server) ?? { checks: 0, ok: 0, latencySum: 0, latencyCount: 0 };
      total.checks += 1;
      if (sample.ok) total.ok += 1;
      if (sample.latencyMs !== null) {
        total.latencySum += sample.latencyMs;
        total.latencyCount += 1;
      }
      totals.set(sample.server, total);
      // Later in the array wins a tie on `at`, as the higher id does in the SQL stores.
      if (sample.at >= (last.get(sample.server)?.at ?? '')) last.set(sample.server, sample);
      if (!sample.ok && sample.at >= (lastError.get(sample.server)?.at ?? '')) lastError.set(sample.server, sample);
    }
    const summaryTotals: HealthTotals[] = [...totals].map(([server, total]) => ({
      server,
      checks: total.checks,
      ok: total.ok,
      avgLatencyMs: total.latencyCount === 0 ? null : total.latencySum / total.latencyCount,
    }));
    return structuredClone(healthSummaries(summaryTotals, last, lastError));
  }

  async pruneHealth(before: string): Promise<number> {
    const cutoff = isoTime(before);
    const kept = this.healthSamples.filter((sample) => sample.at >= cutoff);
    const pruned = this.healthSamples.length - kept.length;
    this.healthSamples = kept;
    return pruned;
  }

  async putApiKey(record: ApiKeyRecord): Promise<ApiKeyRecord> {
    if (this.apiKeys.has(record.id)) throw duplicateApiKey(record.id);
    const stored = canonicalApiKey(record);
    this.apiKeys.set(record.id, stored);
    return structuredClone(stored);
  }

  async getApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return structuredClone(this.apiKeys.get(id));
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    return structuredClone([...this.apiKeys.values()].sort(compareApiKeys));
  }

  async revokeApiKey(id: string, at: string): Promise<ApiKeyRecord | undefined> {
    return this.updateApiKey(id, (record) => (record.revokedAt === null ? { ...record, revokedAt: isoTime(at) } : record));
  }

  async expireApiKey(id: string, at: string): Promise<ApiKeyRecord | undefined> {
    const expiresAt = isoTime(at);
    return this.updateApiKey(id, (record) => (record.expiresAt === null || record.expiresAt > expiresAt ? { ...record, expiresAt } : record));
  }

  async touchApiKey(id: string, at: string): Promise<void> {
    const usedAt = isoTime(at);
    await this.updateApiKey(id, (record) => (record.lastUsedAt === null || record.lastUsedAt < usedAt ? { ...record, lastUsedAt: usedAt } : record));
  }

  private updateApiKey(id: string, change: (record: ApiKeyRecord) => ApiKeyRecord): Promise<ApiKeyRecord | undefined> {
    const record = this.apiKeys.get(id);
    if (record === undefined) return Promise.resolve(undefined);
    const updated = change(record);
    this.apiKeys.set(id, updated);
    return Promise.resolve(structuredClone(updated));
  }

  async putUserConnection(record: Omit<UserConnectionRecord, 'createdAt' | 'updatedAt'>): Promise<UserConnectionRecord> {
    const now = this.now();
    let bySubject = this.userConnections.get(record.server);
    if (bySubject === undefined) this.userConnections.set(record.server, (bySubject = new Map()));
    const stored = { ...record, createdAt: bySubject.get(record.subject)?.createdAt ?? now, updatedAt: now };
    bySubject.set(record.subject, stored);
    return { ...stored };
  }

  async getUserConnection(server: string, subject: string): Promise<UserConnectionRecord | undefined> {
    const found = this.userConnections.get(server)?.get(subject);
    return found && { ...found };
  }

  async listUserConnections(subject: string): Promise<UserConnectionRecord[]> {
    const found: UserConnectionRecord[] = [];
    for (const bySubject of this.userConnections.values()) {
      const record = bySubject.get(subject);
      if (record !== undefined) found.push({ ...record });
    }
    return found.sort((a, b) => compareText(a.server, b.server));
  }

  async deleteUserConnection(server: string, subject: string): Promise<boolean> {
    return this.userConnections.get(server)?.delete(subject) ?? false;
  }

  async putOAuthFlow(record: OAuthFlowRecord): Promise<void> {
    this.oauthFlows.set(record.state, { ...record, expiresAt: isoTime(record.expiresAt) });
  }

  async takeOAuthFlow(state: string, now: string): Promise<OAuthFlowRecord | undefined> {
    const at = isoTime(now);
    for (const [key, flow] of this.oauthFlows) if (flow.expiresAt <= at) this.oauthFlows.delete(key);
    const flow = this.oauthFlows.get(state);
    this.oauthFlows.delete(state);
    return flow && { ...flow };
  }

  async appendAdminEvent(event: AdminEventInput): Promise<AdminEvent> {
    const stored: AdminEvent = {
      id: this.nextAdminEventId,
      at: isoTime(event.at),
      actor: event.actor,
      action: event.action,
      target: event.target,
      detail: structuredClone(event.detail),
    };
    this.nextAdminEventId += 1;
    this.adminEvents.push(stored);
    return structuredClone(stored);
  }

  async listAdminEvents(options: { limit: number; before?: number }): Promise<Page<AdminEvent>> {
    checkPageLimit(options.limit);
    const { before } = options;
    const older = before === undefined ? this.adminEvents : this.adminEvents.filter((event) => event.id < before);
    const items = older.slice(-options.limit).reverse();
    const oldest = items.at(-1);
    return structuredClone(older.length > options.limit && oldest !== undefined ? { items, next: oldest.id } : { items });
  }

  async close(): Promise<void> {
    // Nothing is held open; the data goes with the object.
  }
}
