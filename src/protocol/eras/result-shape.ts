import { MetaKey } from './wire-names.js';
import { isJsonObject } from './types.js';
import type { CacheScope } from './discover.js';
import type { Implementation, JsonObject } from './types.js';

/**
 * Reshaping a complete result when it crosses from one era to the other.
 */

/** Spec changelog minor change 5 (SEP-2549): these results extend CacheableResult. */
export const CACHEABLE_METHODS = [
  'tools/list',
  'prompts/list',
  'resources/list',
  'resources/templates/list',
  'resources/read',
  'server/discover',
] as const;

export interface ModernResultOptions {
  readonly serverInfo?: Implementation;
  readonly ttlMs?: number;
  readonly cacheScope?: CacheScope;
}

/**
 * A legacy upstream's result made valid for a modern client: `resultType: "complete"` (required on
 * 2026-07-28, schema.ts `Result`), `ttlMs`/`cacheScope` on cacheable results (required: the SDK client
 * rejects a tools/list result without them), `tools[].execution` dropped (deleted vocabulary, SDK
 * `enforceDeletedFields`), and the gateway's identity under `_meta["io.modelcontextprotocol/serverInfo"]`.
 */
export function toModernResult(method: string, result: JsonObject, options: ModernResultOptions = {}): JsonObject {
  let shaped: JsonObject = typeof result.resultType === 'string' ? { ...result } : { ...result, resultType: 'complete' };
  if ((CACHEABLE_METHODS as readonly string[]).includes(method) && shaped.resultType === 'complete') {
    const ttlMs = shaped.ttlMs;
    shaped.ttlMs = typeof ttlMs === 'number' && Number.isSafeInteger(ttlMs) && ttlMs >= 0 ? ttlMs : (options.ttlMs ?? 0);
    shaped.cacheScope = shaped.cacheScope === 'public' || shaped.cacheScope === 'private' ? shaped.cacheScope : (options.cacheScope ?? 'private');
  }
  if (method === 'tools/list' && Array.isArray(shaped.tools)) {
    shaped.tools = shaped.tools.map((tool: unknown) => {
      if (!isJsonObject(tool) || !('execution' in tool)) return tool;
      const { execution: _execution, ...rest } = tool;
      return rest;
    });
  }
  if (options.serverInfo !== undefined) {
    const meta = shaped._meta;
    if (meta === undefined) shaped = { ...shaped, _meta: { [MetaKey.serverInfo]: options.serverInfo } };
    else if (isJsonObject(meta) && meta[MetaKey.serverInfo] === undefined) {
      shaped = { ...shaped, _meta: { ...meta, [MetaKey.serverInfo]: options.serverInfo } };
    }
  }
  return shaped;
}

/**
 * A modern upstream's complete result for a legacy client: only `resultType` is removed (the SDK's
 * 2025 codec does the same); cache fields are harmless extra members. An `input_required` result must
 * be bridged first (legacy-client-bridge) and never reaches here.
 */
export function toLegacyResult(result: JsonObject): JsonObject {
  if (!('resultType' in result)) return result;
  const { resultType: _resultType, ...rest } = result;
  return rest;
}

/**
 * Error codes across eras: 2026-07-28 answers an unknown resource with -32602 and retires -32002
 * (changelog minor change 6); clients SHOULD still accept -32002 from older servers.
 */
export function toModernErrorCode(code: number): number {
  return code === -32002 ? -32602 : code;
}
