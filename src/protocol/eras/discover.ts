import { MetaKey } from './wire-names.js';
import { MODERN_REVISIONS, eraOf } from './revisions.js';
import { buildRequestMeta } from './request-meta.js';
import { isJsonObject } from './types.js';
import type { RequestMeta } from './request-meta.js';
import type { Implementation, JsonObject, JsonRpcId, ServerCapabilities } from './types.js';

/**
 * `server/discover` (spec 2026-07-28 schema.ts `DiscoverRequest`/`DiscoverResult`): servers MUST
 * implement it, clients MAY call it. It is also the era probe a dual-era client sends first.
 */
export const DISCOVER_METHOD = 'server/discover';

export type CacheScope = 'public' | 'private';

export interface DiscoverResult {
  readonly resultType: 'complete';
  readonly supportedVersions: readonly string[];
  readonly capabilities: ServerCapabilities;
  readonly instructions?: string;
  /** DiscoverResult extends CacheableResult, so both fields are required on the wire. */
  readonly ttlMs: number;
  readonly cacheScope: CacheScope;
  readonly _meta?: JsonObject;
}

export interface DiscoverResultOptions {
  readonly capabilities: ServerCapabilities;
  /** Defaults to every modern revision we speak; non-modern entries are dropped (see below). */
  readonly supportedVersions?: readonly string[];
  readonly instructions?: string;
  readonly serverInfo?: Implementation;
  readonly ttlMs?: number;
  readonly cacheScope?: CacheScope;
}

/**
 * Only modern revisions are listed: legacy revisions are negotiated through `initialize`, never
 * through a per-request envelope (SDK server `_ondiscover`: `modernProtocolVersions(...)`).
 * `capabilities.tasks` is removed: tasks left the core protocol for the `io.modelcontextprotocol/tasks`
 * extension (changelog "Major changes" 6; SDK codec `enforceDeletedFields`). Cache defaults follow the
 * SDK (`ttlMs: 0`, `cacheScope: 'private'`): a gateway's capabilities can differ per caller.
 */
export function buildDiscoverResult(options: DiscoverResultOptions): DiscoverResult {
  const supportedVersions = (options.supportedVersions ?? MODERN_REVISIONS).filter((v) => eraOf(v) === 'modern');
  const { tasks: _tasks, ...capabilities } = options.capabilities;
  return {
    resultType: 'complete',
    supportedVersions,
    capabilities,
    ...(options.instructions !== undefined && { instructions: options.instructions }),
    ttlMs: options.ttlMs ?? 0,
    cacheScope: options.cacheScope ?? 'private',
    ...(options.serverInfo !== undefined && { _meta: { [MetaKey.serverInfo]: options.serverInfo } }),
  };
}

/** The probe a dual-era client sends before anything else; it carries the full envelope like any request. */
export function buildDiscoverRequest(id: JsonRpcId, meta: RequestMeta): JsonObject {
  return { jsonrpc: '2.0', id, method: DISCOVER_METHOD, params: { _meta: buildRequestMeta(meta) } };
}

export interface DiscoveredServer {
  readonly supportedVersions: readonly string[];
  readonly capabilities: ServerCapabilities;
  readonly instructions?: string;
  readonly serverInfo?: Implementation;
  readonly ttlMs: number;
  readonly cacheScope: CacheScope;
}

/**
 * Reads a `server/discover` result, or `undefined` when it is not one — which the SDK treats as a
 * legacy signal (client `probeClassifier.ts` `classifyResult`). Missing cache fields are tolerated
 * as `0`/`'private'`, like the SDK's `.catch()` defaults.
 */
export function readDiscoverResult(result: unknown): DiscoveredServer | undefined {
  if (!isJsonObject(result) || !isJsonObject(result.capabilities)) return undefined;
  const versions = result.supportedVersions;
  if (!Array.isArray(versions) || !versions.every((v): v is string => typeof v === 'string')) return undefined;
  const serverInfo = isJsonObject(result._meta) ? result._meta[MetaKey.serverInfo] : undefined;
  const ttlMs = result.ttlMs;
  return {
    supportedVersions: versions,
    capabilities: result.capabilities,
    ...(typeof result.instructions === 'string' && { instructions: result.instructions }),
    ...(isJsonObject(serverInfo) &&
      typeof serverInfo.name === 'string' &&
      typeof serverInfo.version === 'string' && { serverInfo: serverInfo as Implementation }),
    ttlMs: typeof ttlMs === 'number' && Number.isSafeInteger(ttlMs) && ttlMs >= 0 ? ttlMs : 0,
    cacheScope: result.cacheScope === 'public' ? 'public' : 'private',
  };
}
