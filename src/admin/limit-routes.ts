import { z } from 'zod';
import { GatehouseError } from '../core/index.js';
import { limitRuleReplacementSchema, limitRuleSchema, type LimitRuleRecord } from '../registry/index.js';
import { defineRoute, type AdminRoute } from './route.js';

/**
 * Limit rules (rate limits, quotas, concurrency limits on calls) beside the config file's
 * `limits.rules`. The file's are listed too, read-only, as policies are. A change applies from the
 * next call on every replica sharing the store, without a restart; it is in the event log with its
 * actor and the rule before and after.
 */

const TAG = 'limits';

export const limitRuleItemSchema = z
  .object({
    name: z.string().describe('The rule\'s name: in refusals (error data.rule) and in its counters.'),
    source: z.enum(['file', 'api']).describe('file: limits.rules of the config file; api: made through this API.'),
    readOnly: z.boolean().describe('Rules from the config file cannot be changed through the API.'),
    position: z.number().int().describe('Listing order within its source. Every rule a call matches applies, whatever the order.'),
    createdAt: z.string().describe('ISO-8601 time, UTC.'),
    updatedAt: z.string().describe('ISO-8601 time, UTC.'),
    spec: limitRuleSchema,
  })
  .describe('A limit rule and where it comes from.');

export const limitRuleListSchema = z.object({
  items: z.array(limitRuleItemSchema).describe('Every rule in force: the config file\'s first (in file order), then the API\'s.'),
});

export type LimitRuleItem = z.output<typeof limitRuleItemSchema>;

function limitRuleItem(record: LimitRuleRecord): LimitRuleItem {
  return {
    name: record.name,
    source: record.source,
    readOnly: record.source === 'file',
    position: record.position,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    spec: record.spec,
  };
}

export const limitRoutes: readonly AdminRoute[] = [
  defineRoute({
    method: 'GET',
    path: '/limits',
    operationId: 'listLimitRules',
    summary: 'List limit rules',
    description: 'Every limit rule in force, the config file\'s (read-only) first, then those made through this API.',
    tag: TAG,
    success: { status: 200, description: 'Every rule.', schema: limitRuleListSchema },
    handle: async ({ deps }) => ({ status: 200, body: { items: deps.registry.limitRuleRecords().map(limitRuleItem) } }),
  }),
  defineRoute({
    method: 'POST',
    path: '/limits',
    operationId: 'createLimitRule',
    summary: 'Add a limit rule',
    description:
      'The body is a rule as under limits.rules in the config file. It applies from the next call, on every replica sharing ' +
      'the store; its name must not be taken by another rule, the file\'s included (409 name_taken).',
    tag: TAG,
    body: limitRuleSchema,
    success: { status: 201, description: 'The rule as stored.', schema: limitRuleItemSchema },
    errors: ['name_taken'],
    handle: async ({ body, deps, actor }) => ({ status: 201, body: limitRuleItem(await deps.registry.createLimitRule(body, actor)) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/limits/{name}',
    operationId: 'getLimitRule',
    summary: 'Show a limit rule',
    tag: TAG,
    success: { status: 200, description: 'The rule.', schema: limitRuleItemSchema },
    errors: ['limit_rule_not_found'],
    handle: async ({ params, deps }) => {
      const name = params.name!;
      const record = deps.registry.limitRule(name);
      if (record === undefined) throw new GatehouseError('limit_rule_not_found', undefined, { name: name.slice(0, 80) });
      return { status: 200, body: limitRuleItem(record) };
    },
  }),
  defineRoute({
    method: 'PUT',
    path: '/limits/{name}',
    operationId: 'replaceLimitRule',
    summary: 'Replace a limit rule',
    description:
      'The rule keeps its name, position and counters (a tighter rule refuses at once what its counters already hold). ' +
      'A `name` in the body must be the path\'s. Rules from the config file are read-only (409).',
    tag: TAG,
    body: limitRuleReplacementSchema,
    success: { status: 200, description: 'The rule as replaced.', schema: limitRuleItemSchema },
    errors: ['limit_rule_not_found', 'read_only_record'],
    handle: async ({ params, body, deps, actor }) => ({ status: 200, body: limitRuleItem(await deps.registry.replaceLimitRule(params.name!, body, actor)) }),
  }),
  defineRoute({
    method: 'DELETE',
    path: '/limits/{name}',
    operationId: 'deleteLimitRule',
    summary: 'Remove a limit rule',
    description: 'The next call is no longer counted by it. Rules from the config file are read-only (409). The event log keeps the removed rule.',
    tag: TAG,
    success: { status: 204, description: 'Removed.' },
    errors: ['limit_rule_not_found', 'read_only_record'],
    handle: async ({ params, deps, actor }) => {
      await deps.registry.deleteLimitRule(params.name!, actor);
      return { status: 204 };
    },
  }),
];
