import { GatehouseError, formatIssues } from '../core/index.js';
import { limitRuleReplacementSchema, limitRuleSchema, type LimitRuleSpec } from './limit-spec.js';
import type { LimitRuleRecord } from './store.js';

/**
 * Limit rules as registry records: their order and the validation an API body gets. The Registry
 * keeps them with its policies (registry.ts); this is what it needs that does not depend on its state.
 */

/** The order rules are listed and handed to the gateway in: the file's first (file order), then the API's. */
export function compareEffectiveLimitRules(left: LimitRuleRecord, right: LimitRuleRecord): number {
  const sourceOrder = (record: LimitRuleRecord): number => (record.source === 'file' ? 0 : 1);
  return sourceOrder(left) - sourceOrder(right) || left.position - right.position || (left.name < right.name ? -1 : left.name > right.name ? 1 : 0);
}

/** A new rule from the admin API, as the config file would take it under limits.rules. */
export function validLimitRule(input: unknown): LimitRuleSpec {
  return parsed(limitRuleSchema.safeParse(input, { reportInput: true }));
}

/** A replacement for the rule `name`: the body's name, if any, must be the path's. */
export function validLimitRuleReplacement(name: string, input: unknown): LimitRuleSpec {
  const { name: given, ...rest } = parsed(limitRuleReplacementSchema.safeParse(input, { reportInput: true }));
  if (given !== undefined && given !== name) {
    const message = `the rule is "${name}" (the path); to rename a rule, delete it and create one (its counters start again)`;
    throw new GatehouseError('invalid_body', `name: ${message}`, { issues: [{ path: 'name', message }] });
  }
  return { name, ...rest };
}

/** The issues go out as data too, each naming its field, as the admin API's own body parsing does. */
function parsed<T>(result: { success: true; data: T } | { success: false; error: { issues: Parameters<typeof formatIssues>[0] } }): T {
  if (result.success) return result.data;
  const issues = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: [...issue.path, key].join('.'), message: 'not a known field' }))
      : [{ path: issue.path.join('.'), message: issue.message }],
  );
  throw new GatehouseError('invalid_body', `\n${formatIssues(result.error.issues)}`, { issues });
}

export function limitRuleNotFound(name: string): GatehouseError {
  return new GatehouseError('limit_rule_not_found', undefined, { name: name.slice(0, 80) });
}
