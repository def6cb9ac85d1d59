import { GatehouseError } from '../core/index.js';
import { sameJson } from './canonical-json.js';
import { limitRuleNotFound } from './limit-records.js';
import type { LimitRuleSpec } from './limit-spec.js';
import { filePolicyId } from './policy-records.js';
import type { PolicySpec } from './server-spec.js';
import type { LimitRuleRecord, PolicyRecord, Store } from './store.js';

/**
 * The config file's policies and limit rules in the store, where the file owns its records and the API
 * its own: seeding the file's, and finding an API one to change (a file one is read-only). This is the
 * part of the Registry's work on them (registry.ts) that reads and writes the store, not its copy.
 */

/** Where a seed reports a file record that takes the place of an API one. */
type Warn = (message: string, name: string) => void;

/**
 * Makes the store's file policies exactly the file's: `file-<index>` for each, written only when it
 * differs (every write moves the revision, and every replica then reloads).
 */
export async function seedPolicies(store: Store, policies: readonly PolicySpec[], warn: Warn): Promise<void> {
  const stored = new Map((await store.listPolicies()).map((record) => [record.id, record]));
  const wanted = new Set(policies.map((_, index) => filePolicyId(index)));
  for (const record of stored.values()) {
    if (record.source === 'file' && !wanted.has(record.id)) await store.deletePolicy(record.id);
  }
  for (const [position, spec] of policies.entries()) {
    const id = filePolicyId(position);
    const existing = stored.get(id);
    if (existing?.source === 'file' && existing.position === position && sameJson(existing.spec, spec)) continue;
    // API ids are random with their own prefix, so only a store written by hand gets here.
    if (existing?.source === 'api') warn('the config file declares a policy id used through the API; the file wins', id);
    await store.putPolicy({ id, position, spec, source: 'file' });
  }
}

/**
 * Makes the store's file rules exactly the file's, each at its place in `limits.rules`, written only
 * when it differs. A file rule takes its name from an API rule (the file wins, as for servers).
 */
export async function seedLimitRules(store: Store, rules: readonly LimitRuleSpec[], warn: Warn): Promise<void> {
  const stored = new Map((await store.listLimitRules()).map((record) => [record.name, record]));
  const wanted = new Set(rules.map((rule) => rule.name));
  for (const record of stored.values()) {
    if (record.source === 'file' && !wanted.has(record.name)) await store.deleteLimitRule(record.name);
  }
  for (const [position, spec] of rules.entries()) {
    const existing = stored.get(spec.name);
    if (existing?.source === 'file' && existing.position === position && sameJson(existing.spec, spec)) continue;
    if (existing?.source === 'api') warn('the config file declares a limit rule named like one made through the API; the file wins', spec.name);
    await store.putLimitRule({ name: spec.name, position, spec, source: 'file' });
  }
}

/** Read from the store, not this replica's copy, so a policy another replica just made can be changed here. */
export async function writablePolicy(store: Store, id: string): Promise<PolicyRecord> {
  const record = await store.getPolicy(id);
  if (record === undefined) throw policyNotFound(id);
  if (record.source === 'file') {
    throw new GatehouseError('read_only_record', `Policy ${id} is auth.policies[${record.position}] in the config file.`, { id });
  }
  return record;
}

/** Read from the store, not this replica's copy, so a rule another replica just made can be changed here. */
export async function writableLimitRule(store: Store, name: string): Promise<LimitRuleRecord> {
  const record = await store.getLimitRule(name);
  if (record === undefined) throw limitRuleNotFound(name);
  if (record.source === 'file') {
    throw new GatehouseError('read_only_record', `Limit rule "${name}" is limits.rules[${record.position}] in the config file.`, { name });
  }
  return record;
}

function policyNotFound(id: string): GatehouseError {
  return new GatehouseError('policy_not_found', undefined, { id: id.slice(0, 80) });
}
