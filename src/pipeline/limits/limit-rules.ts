import picomatch from 'picomatch';
import { identityMatcher, type Identity, type IdentityMatch } from '../../core/index.js';
import type { CallTarget } from '../call-context.js';

export type LimitKeyPart = 'user' | 'team' | 'key' | 'client' | 'server' | 'tool';

/** A limit rule as the config's zod schema produces it (structural: pipeline does not import config). */
export interface LimitRule {
  readonly name: string;
  readonly match: {
    readonly who?: IdentityMatch | undefined;
    readonly servers: readonly string[];
    readonly tools?: readonly string[] | undefined;
    readonly prompts?: readonly string[] | undefined;
    readonly resources?: readonly string[] | undefined;
  };
  readonly key: readonly LimitKeyPart[];
  readonly rate?: { readonly requests: number; readonly per: number; readonly burst?: number | undefined } | undefined;
  readonly quota?: { readonly requests: number; readonly per: QuotaPeriod } | undefined;
  readonly concurrency?: { readonly max: number; readonly queue: number; readonly queueTimeout: number } | undefined;
}

export type QuotaPeriod = 'hour' | 'day' | 'month';

/** A rule ready to match calls; built once per config load. */
export interface CompiledLimitRule {
  readonly rule: LimitRule;
  /** Whether the rule counts this call. */
  matches(identity: Identity, target: CallTarget): boolean;
  /** The rule's counter for this call: the rule's name and the values of its key parts; `client` is the caller's address. */
  counterKey(identity: Identity, target: CallTarget, client: string): string;
}

function anyGlob(globs: readonly string[]): (value: string) => boolean {
  if (globs.includes('*') || globs.includes('**')) return () => true;
  const matchers = globs.map((glob) => picomatch(glob, { dot: true }));
  return (value) => matchers.some((matches) => matches(value));
}

/** The principal behind a call: one counter per user whatever their credential's kind. */
function userOf(identity: Identity): string {
  return identity.issuer === undefined ? `${identity.kind}:${identity.subject}` : `${identity.kind}:${identity.issuer}:${identity.subject}`;
}

const KEY_PARTS: Readonly<Record<LimitKeyPart, (identity: Identity, target: CallTarget, client: string) => string>> = {
  user: userOf,
  team: (identity) => identity.team ?? '',
  key: (identity) => (identity.kind === 'api-key' ? identity.subject : ''),
  // Before callers authenticate (issue #6), their address is what tells them apart.
  client: (_identity, _target, client) => client,
  server: (_identity, target) => target.server,
  // The kind too: a tool and a prompt of one name are two things.
  tool: (_identity, target) => `${target.kind}:${target.name}`,
};

export function compileLimitRule(rule: LimitRule): CompiledLimitRule {
  const appliesTo = identityMatcher(rule.match.who);
  const { tools, prompts, resources } = rule.match;
  // As in policies: naming no kind covers all three; naming some covers only those.
  const namesKinds = tools !== undefined || prompts !== undefined || resources !== undefined;
  const kind = (globs: readonly string[] | undefined): ((name: string) => boolean) =>
    globs !== undefined ? anyGlob(globs) : namesKinds ? () => false : () => true;
  const items = { tools: kind(tools), prompts: kind(prompts), resources: kind(resources) };
  const servers = anyGlob(rule.match.servers);
  const parts = rule.key.map((part) => KEY_PARTS[part]);
  const prefix = encodeURIComponent(rule.name);
  return {
    rule,
    matches: (identity, target) => servers(target.server) && items[target.kind](target.name) && appliesTo(identity),
    // Each value is URI-encoded, so "|" only ever separates parts: no two calls share a key by accident.
    counterKey: (identity, target, client) => parts.reduce((key, part) => `${key}|${encodeURIComponent(part(identity, target, client))}`, prefix),
  };
}

/** The calendar window (UTC) that `now` falls in: [start, end) in epoch ms. */
export function quotaWindow(period: QuotaPeriod, now: number): { start: number; end: number } {
  const date = new Date(now);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  switch (period) {
    case 'hour': {
      const start = Date.UTC(year, month, date.getUTCDate(), date.getUTCHours());
      return { start, end: start + 3_600_000 };
    }
    case 'day': {
      const start = Date.UTC(year, month, date.getUTCDate());
      return { start, end: Date.UTC(year, month, date.getUTCDate() + 1) };
    }
    case 'month':
      return { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) };
  }
}
