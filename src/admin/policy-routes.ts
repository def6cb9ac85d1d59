import { GatehouseError } from '../core/index.js';
import type { PolicyRecord } from '../registry/index.js';
import { defineRoute, type AdminRoute } from './route.js';
import { createPolicyBodySchema, policyItemSchema, policyListSchema, replacePolicyBodySchema, type PolicyItem } from './schemas.js';

/**
 * Roles and policies (who may use which tools, prompts and resources) beside the ones in the config
 * file. The file's are listed too, read-only: an API change the next file reload undid would be worse
 * than a refusal. Every change is in the event log with its actor and the spec before and after.
 */

const TAG = 'policies';

function policyItem(record: PolicyRecord): PolicyItem {
  return {
    id: record.id,
    source: record.source,
    readOnly: record.source === 'file',
    position: record.position,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    spec: record.spec,
  };
}

export const policyRoutes: readonly AdminRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/policies',
    operationId: 'listPolicies',
    summary: 'List policies',
    description: 'Every policy in force, the config file\'s (read-only) first, then those made through this API.',
    tag: TAG,
    success: { status: 200, description: 'Every policy.', schema: policyListSchema },
    handle: async ({ deps }) => ({ status: 200, body: { items: deps.registry.policyRecords().map(policyItem) } }),
  }),
  defineRoute({
    method: 'POST',
    path: '/policies',
    operationId: 'createPolicy',
    summary: 'Add a policy',
    description:
      'The body is a policy as under auth.policies in the config file; a `when` must be valid CEL. Once any policy exists, ' +
      'what no policy allows is denied, so adding the first one narrows what every caller may use.',
    tag: TAG,
    body: createPolicyBodySchema,
    success: { status: 201, description: 'The policy, with the id the gateway gave it.', schema: policyItemSchema },
    handle: async ({ body, deps, actor }) => ({ status: 201, body: policyItem(await deps.registry.createPolicy(body, actor)) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/policies/{id}',
    operationId: 'getPolicy',
    summary: 'Show a policy',
    tag: TAG,
    success: { status: 200, description: 'The policy.', schema: policyItemSchema },
    errors: ['policy_not_found'],
    handle: async ({ params, deps }) => {
      const id = params.id!;
      const record = deps.registry.policy(id);
      if (record === undefined) throw new GatehouseError('policy_not_found', undefined, { id: id.slice(0, 80) });
      return { status: 200, body: policyItem(record) };
    },
  }),
  defineRoute({
    method: 'PUT',
    path: '/policies/{id}',
    operationId: 'replacePolicy',
    summary: 'Replace a policy',
    description: 'The policy keeps its id and position. Policies from the config file are read-only (409).',
    tag: TAG,
    body: replacePolicyBodySchema,
    success: { status: 200, description: 'The policy as replaced.', schema: policyItemSchema },
    errors: ['policy_not_found', 'read_only_record'],
    handle: async ({ params, body, deps, actor }) => ({ status: 200, body: policyItem(await deps.registry.replacePolicy(params.id!, body, actor)) }),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/policies/{id}',
    operationId: 'deletePolicy',
    summary: 'Remove a policy',
    description: 'Policies from the config file are read-only (409). The event log keeps the removed spec.',
    tag: TAG,
    success: { status: 204, description: 'Removed.' },
    errors: ['policy_not_found', 'read_only_record'],
    handle: async ({ params, deps, actor }) => {
      await deps.registry.deletePolicy(params.id!, actor);
      return { status: 204 };
    },
  }),
];
