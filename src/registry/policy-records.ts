import { parse as parseCel } from '@bufbuild/cel';
import { GatehouseError, formatIssues, randomToken } from '../core/index.js';
import { policySchema, type PolicySpec } from './server-spec.js';
import type { PolicyRecord } from './store.js';

/**
 * Policies as registry records: their ids, their order, and the validation an API body gets beyond
 * the zod schema. The Registry keeps them with its servers (registry.ts); this is what it needs that
 * does not depend on its state.
 */

/**
 * A file policy's id is its place in `auth.policies`, so the ids stay the same from one seed to the
 * next as long as the file keeps its order, and a log line or an event naming `file-2` can be found
 * in the file.
 */
export function filePolicyId(index: number): string {
  return `file-${index}`;
}

/** 96 random bits: ids of policies made on two replicas at once never clash. */
export function newPolicyId(): string {
  return `pol_${randomToken(12)}`;
}

/** The order policies are listed and handed to the gateway in: the file's first, then the API's, each by position. */
export function compareEffectivePolicies(left: PolicyRecord, right: PolicyRecord): number {
  const sourceOrder = (record: PolicyRecord): number => (record.source === 'file' ? 0 : 1);
  return sourceOrder(left) - sourceOrder(right) || left.position - right.position || (left.id < right.id ? -1 : left.id > right.id ? 1 : 0);
}

/** Why a CEL expression does not parse (its first line), or undefined when it does. */
export function celProblem(expression: string): string | undefined {
  try {
    parseCel(expression);
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0] ?? 'unparseable';
  }
}

/**
 * A policy body from the admin API, as the config file would take it. A `when` that is not CEL is
 * refused here, not when the gateway compiles its policies: a policy the gateway cannot compile would
 * stop every policy from being applied, on every replica.
 */
export function validPolicy(input: unknown): PolicySpec {
  const parsed = policySchema.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    throw new GatehouseError('invalid_body', `\n${formatIssues(parsed.error.issues)}`, { issues });
  }
  const spec = parsed.data;
  if (spec.when !== undefined) {
    const problem = celProblem(spec.when);
    if (problem !== undefined) {
      const message = `not a valid CEL expression: ${problem}`;
      throw new GatehouseError('invalid_body', `when: ${message}`, { issues: [{ path: 'when', message }] });
    }
  }
  return spec;
}
