import { GatehouseError, type Identity } from '../core/index.js';
import { ApiKeyService } from './api-key-service.js';
import type { ApiKey, CreateApiKeyInput, IssuedApiKey, RotateApiKeyInput, RotatedApiKey } from './api-keys.js';
import { sameJson, toolFingerprint } from './canonical-json.js';
import { seedLimitRules, seedPolicies, writableLimitRule, writablePolicy } from './file-records.js';
import { compareEffectiveLimitRules, validLimitRule, validLimitRuleReplacement } from './limit-records.js';
import type { LimitRuleSpec } from './limit-spec.js';
import { compareEffectivePolicies, newPolicyId, validPolicy } from './policy-records.js';
import { searchServers, type SearchHit, type SearchQuery } from './registry-search.js';
import { maskSecrets, validServer, validVirtual } from './server-records.js';
import { SERVER_NAME, SERVER_NAME_RULE, type PolicySpec, type ServerSpec, type ServerStatus, type VirtualServerSpec } from './server-spec.js';
import type { HealthSample, HealthSummary, LearntState, LimitRuleRecord, PolicyRecord, ServerRecord, Store, ToolFingerprint, VirtualServerRecord } from './store.js';

export interface RegistryOptions {
  readonly store: Store;
  /** Joins server and tool names on /mcp; a server name must not contain it. */
  readonly separator: string;
  /** Status of a server registered through the API when the request does not say. */
  readonly defaultStatus: ServerStatus;
  /** Registering a stdio server through the API runs a command on this host: off unless enabled. */
  readonly stdioRegistration: { readonly enabled: boolean; readonly allowedCommands: readonly string[] };
  readonly onWarning?: (message: string, detail: Record<string, unknown>) => void;
  /** The clock for API key creation, expiry and rotation; tests pass one they move by hand. */
  readonly now?: () => Date;
}

/** What the config file declares; seeded into the store on start and on every file change. */
export interface FileDeclarations {
  readonly servers: Readonly<Record<string, ServerSpec>>;
  readonly virtualServers: Readonly<Record<string, VirtualServerSpec>>;
  /**
   * `auth.policies`, in file order. Left out, the file policies in the store are left as they are (a
   * caller that does not deal in policies must not wipe them); an empty list removes them.
   */
  readonly policies?: readonly PolicySpec[] | undefined;
  /** `limits.rules`, in file order; left out, the file's rules in the store are left as they are (as for policies). */
  readonly limits?: readonly LimitRuleSpec[] | undefined;
}

/** What the gateway should serve now: approved, enabled servers and enabled virtual servers. */
export interface EffectiveCatalog {
  readonly servers: ReadonlyMap<string, ServerSpec>;
  readonly virtualServers: ReadonlyMap<string, VirtualServerSpec>;
}

type Listener = () => void;

/**
 * The registry: servers, virtual servers and policies from the config file and the admin API, kept
 * in a `Store`, with what the gateway learnt about each server. The config file wins on conflict: its
 * records are read-only through the API (a file is reviewed and versioned; an API change that the
 * next file reload silently undid would be worse than a refusal).
 */
export class Registry {
  private serverRecords = new Map<string, ServerRecord>();
  private virtualRecords = new Map<string, VirtualServerRecord>();
  /** File policies first, then API ones, each by position: the order `policies()` hands them out in. */
  private policyList: readonly PolicyRecord[] = [];
  /** File rules first, then API ones, each by position. */
  private limitRuleList: readonly LimitRuleRecord[] = [];
  private learnt = new Map<string, LearntState>();
  /**
   * The file's server specs as loaded (with `${VAR}` values resolved). The store keeps a copy with
   * header and env values masked, so credentials from the environment never land in the database.
   */
  private fileSpecs = new Map<string, ServerSpec>();
  private lastRevision = -1;
  private readonly listeners = new Set<Listener>();
  /** Mutations run one at a time, so a name check and its write cannot interleave with another's. */
  private queue: Promise<unknown> = Promise.resolve();
  private pollTimer: NodeJS.Timeout | undefined;
  private readonly clock: () => Date;
  private readonly keys: ApiKeyService;

  private constructor(private readonly options: RegistryOptions) {
    this.clock = options.now ?? (() => new Date());
    this.keys = new ApiKeyService({
      store: options.store,
      clock: this.clock,
      exclusive: (work) => this.exclusive(work),
      audit: (actor, action, target, detail) => this.audit(actor, action, target, detail),
      endpointExists: (name) => this.serverRecords.has(name) || this.virtualRecords.has(name),
      warn: (message, id) => this.warn(message, id),
    });
  }

  static async open(options: RegistryOptions): Promise<Registry> {
    const registry = new Registry(options);
    await registry.reload();
    for (const state of await options.store.listLearnt()) registry.learnt.set(state.server, state);
    return registry;
  }

  get store(): Store {
    return this.options.store;
  }

  onChange(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  servers(): ServerRecord[] {
    return [...this.serverRecords.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  server(name: string): ServerRecord | undefined {
    return this.serverRecords.get(name);
  }

  virtualServers(): VirtualServerRecord[] {
    return [...this.virtualRecords.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  virtualServer(name: string): VirtualServerRecord | undefined {
    return this.virtualRecords.get(name);
  }

  /** The policies in force, the file's first, then the API's, each by position. */
  policies(): PolicySpec[] {
    return this.policyList.map((record) => record.spec);
  }

  /** The same policies as records: ids, sources and times too. */
  policyRecords(): PolicyRecord[] {
    return [...this.policyList];
  }

  policy(id: string): PolicyRecord | undefined {
    return this.policyList.find((record) => record.id === id);
  }

  /** The limit rules in force, the file's first, then the API's. */
  limitRules(): LimitRuleSpec[] {
    return this.limitRuleList.map((record) => record.spec);
  }

  limitRuleRecords(): LimitRuleRecord[] {
    return [...this.limitRuleList];
  }

  limitRule(name: string): LimitRuleRecord | undefined {
    return this.limitRuleList.find((record) => record.name === name);
  }

  learntState(name: string): LearntState | undefined {
    return this.learnt.get(name);
  }

  effective(): EffectiveCatalog {
    const servers = new Map<string, ServerSpec>();
    for (const record of this.servers()) {
      if (record.status !== 'approved' || !record.spec.enabled) continue;
      servers.set(record.name, (record.source === 'file' ? this.fileSpecs.get(record.name) : undefined) ?? record.spec);
    }
    const virtualServers = new Map<string, VirtualServerSpec>();
    for (const record of this.virtualServers()) if (record.spec.enabled) virtualServers.set(record.name, record.spec);
    return { servers, virtualServers };
  }

  /**
   * Makes the store hold exactly the file's records: file records are written (replacing any API
   * record of the same name, with a warning), file records the file no longer declares are removed,
   * API records are kept. The same for policies, by their `file-<index>` ids, when `policies` is given.
   */
  seed(file: FileDeclarations): Promise<void> {
    return this.exclusive(async () => {
      const { store } = this.options;
      const fileNames = new Set([...Object.keys(file.servers), ...Object.keys(file.virtualServers)]);
      for (const record of await store.listServers()) {
        if (record.source === 'file' ? !(record.name in file.servers) : fileNames.has(record.name)) {
          if (record.source === 'api') this.warn('the config file declares a name registered through the API; the file wins', record.name);
          await store.deleteServer(record.name);
        }
      }
      for (const record of await store.listVirtualServers()) {
        if (record.source === 'file' ? !(record.name in file.virtualServers) : fileNames.has(record.name)) {
          if (record.source === 'api') this.warn('the config file declares a name registered through the API; the file wins', record.name);
          await store.deleteVirtualServer(record.name);
        }
      }
      for (const [name, spec] of Object.entries(file.servers)) {
        const existing = this.serverRecords.get(name);
        const status: ServerStatus = spec.enabled ? 'approved' : 'disabled';
        const stored = maskSecrets(spec);
        if (existing?.source !== 'file' || existing.status !== status || !sameJson(existing.spec, stored)) {
          await store.putServer({ name, spec: stored, status, source: 'file' });
        }
      }
      const specsBefore = this.fileSpecs;
      this.fileSpecs = new Map(Object.entries(file.servers));
      // A secret that changed in the environment changes no stored record: tell listeners anyway.
      const secretsChanged = [...this.fileSpecs].some(([name, spec]) => specsBefore.has(name) && !sameJson(specsBefore.get(name), spec));
      for (const [name, spec] of Object.entries(file.virtualServers)) {
        const existing = this.virtualRecords.get(name);
        if (existing?.source === 'file' && sameJson(existing.spec, spec)) continue;
        await store.putVirtualServer({ name, spec, source: 'file' });
      }
      if (file.policies !== undefined) await seedPolicies(store, file.policies, (message, id) => this.warn(message, id));
      if (file.limits !== undefined) await seedLimitRules(store, file.limits, (message, name) => this.warn(message, name));
      await this.reload(secretsChanged);
    });
  }

  /** Reads the store again when another replica changed it (its revision moved); true when it had. */
  async refresh(): Promise<boolean> {
    const revision = await this.options.store.revision();
    if (revision === this.lastRevision) return false;
    await this.exclusive(() => this.reload());
    return true;
  }

  /** Polls the store's revision, so replicas sharing one database apply each other's changes. */
  startPolling(intervalMs: number): void {
    if (this.pollTimer) return;
    const tick = (): void => {
      this.refresh()
        .catch((error: unknown) => this.warn(`cannot read the registry store: ${(error as Error).message}`, ''))
        .finally(() => {
          if (this.pollTimer) this.pollTimer = setTimeout(tick, intervalMs).unref();
        });
    };
    this.pollTimer = setTimeout(tick, intervalMs).unref();
  }

  stopPolling(): void {
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
  }

  createServer(name: string, input: unknown, actor: string, status?: ServerStatus): Promise<ServerRecord> {
    return this.exclusive(async () => {
      this.checkNewName(name);
      const spec = validServer(input, this.options.stdioRegistration);
      const record = await this.options.store.putServer({ name, spec, status: status ?? this.options.defaultStatus, source: 'api' });
      await this.audit(actor, 'server.create', name, { spec: maskSecrets(spec), status: record.status });
      await this.reload();
      return record;
    });
  }

  replaceServer(name: string, input: unknown, actor: string): Promise<ServerRecord> {
    return this.exclusive(async () => {
      const existing = this.writableServer(name);
      const spec = validServer(input, this.options.stdioRegistration);
      const record = await this.options.store.putServer({ name, spec, status: existing.status, source: 'api' });
      await this.audit(actor, 'server.replace', name, { spec: maskSecrets(spec) });
      await this.reload();
      return record;
    });
  }

  setServerStatus(name: string, status: ServerStatus, actor: string): Promise<ServerRecord> {
    return this.exclusive(async () => {
      const existing = this.writableServer(name);
      if (existing.status === status) return existing;
      const record = await this.options.store.putServer({ name, spec: existing.spec, status, source: 'api' });
      await this.audit(actor, `server.${status === 'approved' ? 'approve' : status === 'disabled' ? 'disable' : 'suspend'}`, name, { from: existing.status });
      await this.reload();
      return record;
    });
  }

  deleteServer(name: string, actor: string): Promise<void> {
    return this.exclusive(async () => {
      this.writableServer(name);
      await this.options.store.deleteServer(name);
      this.learnt.delete(name);
      await this.audit(actor, 'server.delete', name, {});
      await this.reload();
    });
  }

  createVirtualServer(name: string, input: unknown, actor: string): Promise<VirtualServerRecord> {
    return this.exclusive(async () => {
      this.checkNewName(name);
      const spec = validVirtual(input);
      const record = await this.options.store.putVirtualServer({ name, spec, source: 'api' });
      await this.audit(actor, 'virtual.create', name, { spec });
      await this.reload();
      return record;
    });
  }

  replaceVirtualServer(name: string, input: unknown, actor: string): Promise<VirtualServerRecord> {
    return this.exclusive(async () => {
      this.writableVirtual(name);
      const spec = validVirtual(input);
      const record = await this.options.store.putVirtualServer({ name, spec, source: 'api' });
      await this.audit(actor, 'virtual.replace', name, { spec });
      await this.reload();
      return record;
    });
  }

  deleteVirtualServer(name: string, actor: string): Promise<void> {
    return this.exclusive(async () => {
      this.writableVirtual(name);
      await this.options.store.deleteVirtualServer(name);
      await this.audit(actor, 'virtual.delete', name, {});
      await this.reload();
    });
  }

  // ---- policies -------------------------------------------------------------------------------

  /** Adds a policy after every API policy there is. The gateway applies it through the change listeners. */
  createPolicy(input: unknown, actor: string): Promise<PolicyRecord> {
    return this.exclusive(async () => {
      const spec = validPolicy(input);
      const { store } = this.options;
      // From the store, not this replica's copy: another replica may have added one since the last poll.
      const position = (await store.listPolicies()).reduce((next, record) => (record.source === 'api' ? Math.max(next, record.position + 1) : next), 0);
      const record = await store.putPolicy({ id: newPolicyId(), position, spec, source: 'api' });
      await this.audit(actor, 'policy.create', record.id, { spec });
      await this.reload();
      return record;
    });
  }

  /** Replaces an API policy's spec; it keeps its id, position and createdAt. */
  replacePolicy(id: string, input: unknown, actor: string): Promise<PolicyRecord> {
    return this.exclusive(async () => {
      const existing = await writablePolicy(this.options.store, id);
      const spec = validPolicy(input);
      const record = await this.options.store.putPolicy({ id, position: existing.position, spec, source: 'api' });
      // The previous spec too: "who could do what, when" must be answerable from the log alone.
      await this.audit(actor, 'policy.replace', id, { spec, previous: existing.spec });
      await this.reload();
      return record;
    });
  }

  deletePolicy(id: string, actor: string): Promise<void> {
    return this.exclusive(async () => {
      const existing = await writablePolicy(this.options.store, id);
      await this.options.store.deletePolicy(id);
      await this.audit(actor, 'policy.delete', id, { spec: existing.spec });
      await this.reload();
    });
  }

  // ---- limit rules ----------------------------------------------------------------------------

  /** Adds a rule after every API rule there is; its name must be free among the file's and the API's. */
  createLimitRule(input: unknown, actor: string): Promise<LimitRuleRecord> {
    return this.exclusive(async () => {
      const spec = validLimitRule(input);
      const { store } = this.options;
      // From the store, not this replica's copy: another replica may have added it since the last poll.
      const records = await store.listLimitRules();
      if (records.some((record) => record.name === spec.name)) {
        throw new GatehouseError('name_taken', `A limit rule named "${spec.name}" exists.`, { name: spec.name });
      }
      const position = records.reduce((next, record) => (record.source === 'api' ? Math.max(next, record.position + 1) : next), 0);
      const record = await store.putLimitRule({ name: spec.name, position, spec, source: 'api' });
      await this.audit(actor, 'limit.create', spec.name, { spec });
      await this.reload();
      return record;
    });
  }

  /** Replaces an API rule; it keeps its name, position and createdAt (and its counters, keyed by name). */
  replaceLimitRule(name: string, input: unknown, actor: string): Promise<LimitRuleRecord> {
    return this.exclusive(async () => {
      const existing = await writableLimitRule(this.options.store, name);
      const spec = validLimitRuleReplacement(name, input);
      const record = await this.options.store.putLimitRule({ name, position: existing.position, spec, source: 'api' });
      await this.audit(actor, 'limit.replace', name, { spec, previous: existing.spec });
      await this.reload();
      return record;
    });
  }

  deleteLimitRule(name: string, actor: string): Promise<void> {
    return this.exclusive(async () => {
      const existing = await writableLimitRule(this.options.store, name);
      await this.options.store.deleteLimitRule(name);
      await this.audit(actor, 'limit.delete', name, { spec: existing.spec });
      await this.reload();
    });
  }

  // ---- API keys (src/registry/api-key-service.ts) ---------------------------------------------

  /** Makes a key. The token is in the answer and nowhere else: the store keeps the hash of its secret. */
  createApiKey(input: CreateApiKeyInput): Promise<IssuedApiKey> {
    return this.keys.createApiKey(input);
  }

  /** Replaces a key with a new one; both work during the overlap (see ApiKeyService.rotateApiKey). */
  rotateApiKey(id: string, input: RotateApiKeyInput): Promise<RotatedApiKey> {
    return this.keys.rotateApiKey(id, input);
  }

  /** Revokes a key; its next request fails, on every replica. */
  revokeApiKey(id: string, actor: string): Promise<ApiKey> {
    return this.keys.revokeApiKey(id, actor);
  }

  listApiKeys(): Promise<ApiKey[]> {
    return this.keys.listApiKeys();
  }

  /** Who an API key belongs to, read from the store on every call, or `unauthorized`. */
  verifyApiKey(token: string): Promise<Identity> {
    return this.keys.verifyApiKey(token);
  }

  /**
   * Records what a server told the gateway about itself and its lists, and the fingerprint of each
   * tool (its name, description and schemas), so a tool that changes under the same name shows.
   */
  async recordLearnt(state: Omit<LearntState, 'updatedAt'>): Promise<ToolFingerprint[]> {
    if (!this.serverRecords.has(state.server)) return [];
    const at = new Date().toISOString();
    const full: LearntState = { ...state, updatedAt: at };
    this.learnt.set(state.server, full);
    await this.options.store.putLearnt(full);
    const fingerprints = state.tools.flatMap((tool) => (typeof tool.name === 'string' ? [{ tool: tool.name, fingerprint: toolFingerprint(tool) }] : []));
    return this.options.store.recordFingerprints(state.server, fingerprints, at);
  }

  recordHealth(sample: HealthSample): Promise<void> {
    return this.options.store.recordHealth(sample);
  }

  /** Health over the last `windowMs` (24 h by default), by server. */
  async health(windowMs = DAY_MS): Promise<Map<string, HealthSummary>> {
    const summaries = await this.options.store.healthSummaries(new Date(Date.now() - windowMs).toISOString());
    return new Map(summaries.map((summary) => [summary.server, summary]));
  }

  /** Searches names, titles, descriptions, tags and the descriptions of the tools each server listed. */
  search(query: SearchQuery): SearchHit[] {
    return searchServers(this.servers(), this.learnt, query);
  }

  private async reload(forceNotify = false): Promise<void> {
    const { store } = this.options;
    const revision = await store.revision();
    const [servers, virtuals, policies, limitRules] = await Promise.all([store.listServers(), store.listVirtualServers(), store.listPolicies(), store.listLimitRules()]);
    policies.sort(compareEffectivePolicies);
    limitRules.sort(compareEffectiveLimitRules);
    const changed =
      forceNotify ||
      !sameJson([...this.serverRecords.values()], servers) ||
      !sameJson([...this.virtualRecords.values()], virtuals) ||
      !sameJson(this.policyList, policies) ||
      !sameJson(this.limitRuleList, limitRules);
    this.serverRecords = new Map(servers.map((record) => [record.name, record]));
    this.virtualRecords = new Map(virtuals.map((record) => [record.name, record]));
    this.policyList = policies;
    this.limitRuleList = limitRules;
    this.lastRevision = revision;
    if (changed) for (const listener of this.listeners) listener();
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private checkNewName(name: string): void {
    if (!SERVER_NAME.test(name)) throw new GatehouseError('invalid_body', `"${name.slice(0, 80)}": ${SERVER_NAME_RULE}.`);
    if (name.includes(this.options.separator)) {
      throw new GatehouseError('invalid_body', `"${name}": a server name must not contain the separator "${this.options.separator}".`);
    }
    if (this.serverRecords.has(name) || this.virtualRecords.has(name)) throw new GatehouseError('name_taken', `"${name}" exists.`, { name });
  }

  private writableServer(name: string): ServerRecord {
    const record = this.serverRecords.get(name);
    if (!record) throw new GatehouseError('server_not_found', `No server "${name.slice(0, 80)}".`, { name: name.slice(0, 80) });
    if (record.source === 'file') throw new GatehouseError('read_only_record', `"${name}" is declared in the config file.`, { name });
    return record;
  }

  private writableVirtual(name: string): VirtualServerRecord {
    const record = this.virtualRecords.get(name);
    if (!record) throw new GatehouseError('server_not_found', `No virtual server "${name.slice(0, 80)}".`, { name: name.slice(0, 80) });
    if (record.source === 'file') throw new GatehouseError('read_only_record', `"${name}" is declared in the config file.`, { name });
    return record;
  }

  private async audit(actor: string, action: string, target: string, detail: Record<string, unknown>): Promise<void> {
    await this.options.store.appendAdminEvent({ at: new Date().toISOString(), actor, action, target, detail });
  }

  private warn(message: string, name: string): void {
    this.options.onWarning?.(message, { name });
  }
}

const DAY_MS = 24 * 60 * 60 * 1000;
