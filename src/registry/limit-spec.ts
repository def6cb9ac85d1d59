import { z } from 'zod';
import { policySchema } from './server-spec.js';

/**
 * A limit rule as the config file (`limits.rules`) and the admin API (`/limits`) both write it
 * (CONVENTIONS rule 5): the file's rules and the API's are the same records in the registry.
 */

const DURATION = /^(\d+)(ms|s|m|h|d)$/;
const DURATION_UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A duration: milliseconds, or a number with a unit ("500ms", "5s", "1m", "1h", "1d"); milliseconds
 * once parsed. The final pipe gives the parsed value a shape JSON Schema can describe, so an API answer
 * holding a parsed rule is documented as numbers.
 */
export const durationMsSchema = z
  .union([z.number().int().positive(), z.string().regex(DURATION, 'expected a duration like 500ms, 5s, 1m, 1h or 1d, or milliseconds')])
  .transform((value) => {
    if (typeof value === 'number') return value;
    const [, amount, unit] = DURATION.exec(value)!;
    return Number(amount) * DURATION_UNIT_MS[unit as keyof typeof DURATION_UNIT_MS];
  })
  .pipe(z.number().int().positive('a duration must be longer than 0'));

export const LIMIT_RULE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const LIMIT_RULE_NAME_RULE = 'a rule name is 1 to 64 letters, digits, ".", "-" and "_"';

export const LIMIT_KEY_PARTS = ['user', 'team', 'key', 'client', 'server', 'tool'] as const;

export const limitRuleNameSchema = z.string().regex(LIMIT_RULE_NAME, LIMIT_RULE_NAME_RULE);

const limitRuleFields = {
  match: z
    .strictObject({
      who: policySchema.shape.who.describe('Whom the rule is for: anyone matching one entry. Left out: every caller.'),
      servers: z.array(z.string().min(1)).default(['*']).describe('Servers the rule covers; globs.'),
      tools: z.array(z.string()).optional().describe('Tool names (globs). Naming none of tools, prompts and resources covers all three; naming some covers only those.'),
      prompts: z.array(z.string()).optional().describe('Prompt names (globs).'),
      resources: z.array(z.string()).optional().describe('Resource URIs (globs; ** crosses "/").'),
    })
    .prefault({})
    .describe('Which calls (tools/call, prompts/get, resources/read) the rule counts; list calls are never limited.'),
  key: z
    .array(z.enum(LIMIT_KEY_PARTS))
    .default([])
    .describe(
      'What gets its own counter: e.g. [user, tool] is one counter per caller and tool. user is the authenticated principal ' +
        '(anonymous callers share one), key the API key, client the caller\'s address (the peer IP of an HTTP client, "stdio" ' +
        'for the stdio front; behind a proxy, the proxy\'s), tool the tool, prompt or resource called. Empty: one counter for every matching call.',
    ),
  rate: z
    .strictObject({
      requests: z.number().int().positive(),
      per: durationMsSchema.describe('The time the `requests` are spread over: 1s, 1m, 1h, 1d, or milliseconds.'),
      burst: z.number().int().positive().optional().describe('Calls allowed at once after a quiet spell (the bucket size); default: requests.'),
    })
    .optional()
    .describe('Token bucket: `requests` per `per`, refilled continuously, so bursts are smoothed instead of reset at a window edge.'),
  quota: z
    .strictObject({ requests: z.number().int().positive(), per: z.enum(['hour', 'day', 'month']) })
    .optional()
    .describe('Calls per calendar hour, day or month (UTC); the count starts again at the start of the next one.'),
  concurrency: z
    .strictObject({
      max: z.number().int().positive().describe('Calls in flight at once.'),
      queue: z.number().int().min(0).default(0).describe('Calls waiting (first in, first out) for a free slot; more are refused at once.'),
      queueTimeout: durationMsSchema.default(10_000).describe('How long a call may wait in the queue before it is refused.'),
    })
    .optional(),
};

/** A function, so each schema gets its own path array (zod keeps it). */
const needsALimit = (): { message: string; path: string[] } => ({ message: 'a limit rule needs at least one of rate, quota and concurrency', path: ['rate'] });

function hasALimit(rule: { rate?: unknown; quota?: unknown; concurrency?: unknown }): boolean {
  return rule.rate !== undefined || rule.quota !== undefined || rule.concurrency !== undefined;
}

export const limitRuleSchema = z
  .strictObject({
    name: limitRuleNameSchema.describe('Names the rule in refusals (error data.rule) and in its counters; unique among the file\'s and the API\'s rules.'),
    ...limitRuleFields,
  })
  .refine(hasALimit, needsALimit())
  .describe('A rate limit, quota or concurrency limit on calls; every rule a call matches applies.');

/**
 * The body of a replacement (PUT /limits/{name}): the rule without its name, which the path gives; a
 * name in the body must be the same (a rename is a delete and a create: counters are keyed by name).
 */
export const limitRuleReplacementSchema = z
  .strictObject({ name: limitRuleNameSchema.optional().describe('The path\'s name, if given at all.'), ...limitRuleFields })
  .refine(hasALimit, needsALimit())
  .describe('A limit rule whose name the path gives.');

export type LimitRuleSpec = z.output<typeof limitRuleSchema>;
export type LimitRuleSpecInput = z.input<typeof limitRuleSchema>;
