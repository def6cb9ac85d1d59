import { hash } from 'node:crypto';
import { Method, type JsonRpcResponse, type Params, type RequestOutcome } from '../../protocol/index.js';
import { canonicalJson } from '../../registry/index.js';
import type { CallContext } from '../call-context.js';
import type { Filter } from '../filter-chain.js';
import type { CacheRules } from './cache-rules.js';
import type { CacheStore } from './cache-store.js';

/** The `_meta` key a cached answer carries (reverse-DNS, as the spec asks of implementation keys). */
export const CACHE_META_KEY = 'io.gatehouse/cache';

export interface CacheCounters {
  hits: number;
  misses: number;
  stores: number;
}

/**
 * An opt-in response cache for tool calls and resource reads (DESIGN: pipeline/cache). Keyed by the
 * endpoint, server, tool or URI, canonical arguments, the client's protocol revision (results are
 * shaped for it) and, unless a rule marks the entry shared, the caller's identity. Only successful
 * answers are kept (never errors, never `isError` results); a hit carries `_meta["io.gatehouse/cache"]`
 * with its age. A call the caller's policy conditions refuse is never answered from the cache.
 * Identical calls that miss at the same time go upstream once.
 */
export class CacheFilter implements Filter<CallContext, RequestOutcome> {
  readonly name = 'cache';
  readonly counters: CacheCounters = { hits: 0, misses: 0, stores: 0 };
  private readonly inflight = new Map<string, Promise<RequestOutcome>>();

  constructor(
    private readonly rules: CacheRules,
    private readonly store: CacheStore,
    private readonly now: () => number = Date.now,
  ) {}

  async handle(context: CallContext, next: () => Promise<RequestOutcome>): Promise<RequestOutcome> {
    const method = context.request.method;
    if (method !== Method.toolsCall && method !== Method.resourcesRead) return next();
    const target = await context.target();
    if (target === undefined || target.authorized !== true) return next();
    const plan = this.rules.planFor(target);
    if (plan === undefined) return next();
    const key = this.keyOf(context, target.server, target.kind, target.name, plan.shared);
    const step = context.trace?.step('cache lookup');
    const cached = await this.store.get(key).catch(() => undefined);
    if (step !== undefined) {
      step.set('gatehouse.cache.hit', cached !== undefined);
      step.end();
    }
    if (cached !== undefined) {
      this.counters.hits++;
      return this.answer(context, cached.result, this.now() - cached.storedAt);
    }
    this.counters.misses++;
    const pending = this.inflight.get(key);
    if (pending !== undefined) {
      const outcome = await pending;
      const result = resultOf(outcome);
      return result === undefined ? next() : this.answer(context, JSON.stringify(result), 0);
    }
    const fetched = next();
    this.inflight.set(key, fetched);
    try {
      const outcome = await fetched;
      const result = resultOf(outcome);
      if (result !== undefined) {
        this.counters.stores++;
        await this.store.set(key, { result: JSON.stringify(result), storedAt: this.now() }, plan.ttlMs).catch(() => undefined);
      }
      return outcome;
    } finally {
      this.inflight.delete(key);
    }
  }

  private keyOf(context: CallContext, server: string, kind: string, name: string, shared: boolean): string {
    const { session, request } = context;
    const params = request.params ?? {};
    const identity = session.identity;
    const who = shared ? '' : `${identity.kind}:${identity.issuer ?? ''}:${identity.subject}`;
    const material = canonicalJson([session.view.name, server, kind, name, params.arguments ?? null, params.uri ?? null, session.protocolVersion, who]);
    return hash('sha256', material, 'base64url');
  }

  private answer(context: CallContext, resultText: string, ageMs: number): JsonRpcResponse {
    const result = JSON.parse(resultText) as Params;
    const meta = (result._meta as Params | undefined) ?? {};
    result._meta = { ...meta, [CACHE_META_KEY]: { hit: true, ageMs } };
    return { jsonrpc: '2.0', id: context.request.id, result };
  }
}

/** A result worth keeping: an answer, not an error, not a tool's `isError`. */
function resultOf(outcome: RequestOutcome): Params | undefined {
  if (outcome === undefined || !('result' in outcome)) return undefined;
  const result = outcome.result as Params | undefined;
  // A 2026-07-28 input_required result asks the client something: it belongs to one exchange only.
  if (result === undefined || result.isError === true || result.resultType === 'input_required') return undefined;
  return result;
}
