import picomatch from 'picomatch';
import type { CallTarget } from '../call-context.js';

/** One `cache.rules` entry as the config gives it. */
export interface CacheRuleSpec {
  readonly servers: readonly string[];
  readonly tools: readonly string[];
  readonly resources: readonly string[];
  readonly ttlMs: number;
  readonly shared: boolean;
}

export interface CacheSettings {
  readonly rules: readonly CacheRuleSpec[];
  /** Also cache tools whose annotations say both readOnlyHint and idempotentHint, for this long. */
  readonly annotatedTtlMs: number | undefined;
}

/** How one call is cached: for how long, and whether callers share the entry. */
export interface CachePlan {
  readonly ttlMs: number;
  readonly shared: boolean;
}

interface CompiledRule {
  readonly server: (name: string) => boolean;
  readonly tool: ((name: string) => boolean) | undefined;
  readonly resource: ((uri: string) => boolean) | undefined;
  readonly plan: CachePlan;
}

/** The rules compiled once per config load: the first that matches a call's target decides. */
export class CacheRules {
  private readonly rules: readonly CompiledRule[];

  constructor(private readonly settings: CacheSettings) {
    this.rules = settings.rules.map((rule) => ({
      server: picomatch(rule.servers.length === 0 ? ['*'] : [...rule.servers]),
      tool: rule.tools.length === 0 ? undefined : picomatch([...rule.tools]),
      // URIs hold "/" and ":"; globs over them must not treat "/" as a path separator only.
      resource: rule.resources.length === 0 ? undefined : picomatch([...rule.resources], { contains: false, dot: true, bash: true }),
      plan: { ttlMs: rule.ttlMs, shared: rule.shared },
    }));
  }

  planFor(target: CallTarget): CachePlan | undefined {
    if (target.kind === 'prompts') return undefined;
    for (const rule of this.rules) {
      if (!rule.server(target.server)) continue;
      const matcher = target.kind === 'tools' ? rule.tool : rule.resource;
      if (matcher !== undefined && matcher(target.name)) return rule.plan;
    }
    const { annotatedTtlMs } = this.settings;
    if (annotatedTtlMs !== undefined && target.kind === 'tools') {
      const annotations = target.item?.annotations as { readOnlyHint?: unknown; idempotentHint?: unknown } | undefined;
      if (annotations?.readOnlyHint === true && annotations.idempotentHint === true) return { ttlMs: annotatedTtlMs, shared: false };
    }
    return undefined;
  }
}
