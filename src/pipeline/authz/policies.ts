import picomatch from 'picomatch';
import { identityMatcher, type Identity, type IdentityMatch } from '../../core/index.js';
import { compileCondition, type Condition } from './condition.js';

/** A policy as the config's zod schema produces it (structural: pipeline does not import config). */
export interface PolicyRule {
  readonly effect: 'allow' | 'deny';
  readonly who?: IdentityMatch | undefined;
  readonly servers: readonly string[];
  readonly tools?: readonly string[] | undefined;
  readonly prompts?: readonly string[] | undefined;
  readonly resources?: readonly string[] | undefined;
  /** A CEL condition on the call (its arguments, the caller). */
  readonly when?: string | undefined;
}

export type ItemKind = 'tools' | 'prompts' | 'resources' | 'resourceTemplates';

/** Whether an item of a server may be used, for one identity on one endpoint. */
export type Permits = (server: string, kind: ItemKind, name: string) => boolean;

interface CompiledRule {
  readonly allow: boolean;
  readonly appliesTo: (identity: Identity) => boolean;
  readonly servers: (name: string) => boolean;
  /** Per kind: undefined = every item of that kind; a matcher otherwise. */
  readonly items: Readonly<Record<'tools' | 'prompts' | 'resources', ((name: string) => boolean) | undefined>>;
  readonly when: Condition | undefined;
}

function anyGlob(globs: readonly string[]): (value: string) => boolean {
  if (globs.includes('*') || globs.includes('**')) return () => true;
  const matchers = globs.map((glob) => picomatch(glob, { dot: true }));
  return (value) => matchers.some((matches) => matches(value));
}

function compileRule(rule: PolicyRule, index: number): CompiledRule {
  const appliesTo = identityMatcher(rule.who);
  // A rule that names no kind covers every item of its servers; one that names some covers only those
  // kinds ("deny tools: [get-env]" must not also deny every resource).
  const namesKinds = rule.tools !== undefined || rule.prompts !== undefined || rule.resources !== undefined;
  const kind = (globs: readonly string[] | undefined): ((name: string) => boolean) | undefined =>
    globs !== undefined ? anyGlob(globs) : namesKinds ? () => false : undefined;
  return {
    allow: rule.effect === 'allow',
    appliesTo,
    servers: anyGlob(rule.servers),
    items: { tools: kind(rule.tools), prompts: kind(rule.prompts), resources: kind(rule.resources) },
    when: rule.when === undefined ? undefined : compileCondition(rule.when, `auth.policies.${index}.when`),
  };
}

/**
 * Roles and policies: who may use which tools, prompts and resources. Deny wins; once any policy
 * exists, what no policy allows is denied; with no policies everything is allowed (and nothing is
 * computed per call). What a caller may use is applied to the lists it is shown, so listing and
 * calling cannot disagree: the router resolves calls against those same filtered lists.
 */
export class Policies {
  private readonly rules: readonly CompiledRule[];
  private readonly permitsByKey = new Map<string, Permits>();

  /** Whether any rule has a condition: only then is anything checked per call. */
  readonly hasConditions: boolean;

  constructor(rules: readonly PolicyRule[]) {
    this.rules = rules.map(compileRule);
    this.hasConditions = this.rules.some((rule) => rule.when !== undefined);
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /**
   * Whether a call to an item the caller was shown may go ahead with these arguments: a covering
   * deny whose condition holds refuses it; otherwise a covering allow whose condition holds (or that
   * has none) lets it through.
   */
  allowsCall(identity: Identity, endpoint: string, server: string, kind: ItemKind, name: string, args: unknown): boolean {
    let allowed = false;
    for (const rule of this.rules) {
      if (!rule.appliesTo(identity) || !covers(rule, endpoint, server, kind, name)) continue;
      const holds = rule.when === undefined || rule.when({ server, kind, name, args, identity });
      if (!holds) continue;
      if (!rule.allow) return false;
      allowed = true;
    }
    return allowed;
  }

  /**
   * The rules that apply to an identity, as a key (their positions): identities to which the same
   * rules apply see the same lists, so the lists are built and cached once per key, not per caller.
   */
  keyOf(identity: Identity): string {
    let key = '';
    this.rules.forEach((rule, index) => {
      if (rule.appliesTo(identity)) key += `${index}.`;
    });
    return key;
  }

  /** What an identity may use through an endpoint; undefined when there are no policies at all. */
  permitsFor(identity: Identity, endpoint: string): { key: string; permits: Permits } | undefined {
    if (this.rules.length === 0) return undefined;
    const key = `${endpoint}\u0001${this.keyOf(identity)}`;
    let permits = this.permitsByKey.get(key);
    if (permits === undefined) {
      const applicable = this.rules.filter((rule) => rule.appliesTo(identity));
      permits = (server, kind, name) => decide(applicable, endpoint, server, kind, name);
      this.permitsByKey.set(key, permits);
    }
    return { key, permits };
  }
}

function covers(rule: CompiledRule, endpoint: string, server: string, kind: ItemKind, name: string): boolean {
  // A policy names a server, or the virtual server whose endpoint the caller came through.
  if (!rule.servers(server) && !rule.servers(endpoint)) return false;
  const items = rule.items[kind === 'resourceTemplates' ? 'resources' : kind];
  return items === undefined || items(name);
}

/** What a caller is shown: a conditional allow still shows the item (some calls may pass); a conditional deny hides nothing. */
function decide(rules: readonly CompiledRule[], endpoint: string, server: string, kind: ItemKind, name: string): boolean {
  let allowed = false;
  for (const rule of rules) {
    if (!covers(rule, endpoint, server, kind, name)) continue;
    if (!rule.allow) {
      if (rule.when === undefined) return false;
      continue;
    }
    allowed = true;
  }
  return allowed;
}
