import { eraOf, preferredRevision } from './revisions.js';
import { readDiscoverResult } from './discover.js';
import { ModernErrorCode } from './wire-names.js';
import { isJsonObject } from './types.js';
import type { DiscoveredServer } from './discover.js';

/**
 * How the gateway, as a dual-era client, decides an upstream's era from its answer to the
 * `server/discover` probe. Spec basic/versioning.mdx §Backward Compatibility ("a recognized modern
 * JSON-RPC error identifies a modern server … Anything else identifies a legacy server"), the stdio
 * and Streamable HTTP binding pages, and the SDK's probe classifier (client `probeClassifier.ts`),
 * whose choices this follows where the spec leaves room.
 */

export type ProbeOutcome =
  | { readonly kind: 'result'; readonly result: unknown }
  | { readonly kind: 'rpc-error'; readonly code: number; readonly data?: unknown }
  /** A non-2xx HTTP answer; `body` is the raw text, which may hold a JSON-RPC error. */
  | { readonly kind: 'http-error'; readonly status: number; readonly body?: string }
  | { readonly kind: 'timeout' }
  /** The stdio process exited or the connection closed before answering. */
  | { readonly kind: 'closed' }
  | { readonly kind: 'network-error'; readonly message: string };

export interface ProbeContext {
  readonly transport: 'stdio' | 'http';
  /** Whether we may fall back to `initialize` (false for a modern-only configuration). */
  readonly legacyFallback: boolean;
}

export type ProbeVerdict =
  | { readonly kind: 'modern'; readonly revision: string; readonly discovered: DiscoveredServer }
  /** The server is modern and offered a revision we share: probe again with it (once — do not loop). */
  | { readonly kind: 'retry'; readonly revision: string }
  | { readonly kind: 'legacy' }
  | { readonly kind: 'fail'; readonly reason: string };

export function classifyProbe(outcome: ProbeOutcome, context: ProbeContext): ProbeVerdict {
  const verdict = classify(outcome, context);
  if (verdict.kind === 'legacy' && !context.legacyFallback) {
    return { kind: 'fail', reason: 'the server shows no sign of the 2026-07-28 era and legacy fallback is off' };
  }
  return verdict;
}

function classify(outcome: ProbeOutcome, context: ProbeContext): ProbeVerdict {
  switch (outcome.kind) {
    case 'result': {
      const discovered = readDiscoverResult(outcome.result);
      if (discovered === undefined) return { kind: 'legacy' };
      const revision = preferredRevision(discovered.supportedVersions, 'modern');
      if (revision !== undefined) return { kind: 'modern', revision, discovered };
      // A discover result with no shared modern revision: modern server we cannot talk to on that era.
      if (context.legacyFallback) return { kind: 'legacy' };
      return { kind: 'fail', reason: `no shared revision in ${discovered.supportedVersions.join(', ')}` };
    }
    case 'rpc-error':
      return fromRpcError(outcome.code, outcome.data, context);
    case 'http-error': {
      if (outcome.status === 401 || outcome.status === 403) return { kind: 'fail', reason: `HTTP ${outcome.status}: authorization required` };
      if (outcome.status >= 500) return { kind: 'fail', reason: `HTTP ${outcome.status} from the server` };
      const error = rpcErrorIn(outcome.body);
      // Spec streamable-http.mdx §Backward Compatibility: a 4xx without a recognised modern error body means legacy.
      return error === undefined ? { kind: 'legacy' } : fromRpcError(error.code, error.data, context);
    }
    case 'timeout':
    case 'closed':
      // Spec stdio §Backward Compatibility: no answer within a reasonable time identifies a legacy server
      // (some legacy stdio servers exit on any request before initialize). Over HTTP it is a network fault.
      if (context.transport === 'stdio') return { kind: 'legacy' };
      return { kind: 'fail', reason: outcome.kind === 'timeout' ? 'the probe timed out' : 'the connection closed during the probe' };
    case 'network-error':
      return { kind: 'fail', reason: outcome.message };
  }
}

/**
 * Only -32022 with a `supported` list counts as modern evidence. -32601/-32602 are what legacy servers
 * say to a request before `initialize`; -32001 is overloaded by deployed 2025 servers ("Session not
 * found"); the SDK deliberately also treats -32020/-32021 as no evidence, and so do we.
 */
function fromRpcError(code: number, data: unknown, context: ProbeContext): ProbeVerdict {
  if (code !== ModernErrorCode.unsupportedProtocolVersion) return { kind: 'legacy' };
  const supported = isJsonObject(data) ? data.supported : undefined;
  if (!Array.isArray(supported) || supported.length === 0 || !supported.every((v): v is string => typeof v === 'string')) {
    return { kind: 'legacy' };
  }
  const shared = preferredRevision(supported, 'modern');
  if (shared !== undefined) return { kind: 'retry', revision: shared };
  if (supported.some((v) => eraOf(v) === 'modern')) return { kind: 'fail', reason: `no shared modern revision in ${supported.join(', ')}` };
  return context.legacyFallback ? { kind: 'legacy' } : { kind: 'fail', reason: `the server offers only ${supported.join(', ')}` };
}

function rpcErrorIn(body: string | undefined): { code: number; data?: unknown } | undefined {
  if (body === undefined || body === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (!isJsonObject(parsed) || !isJsonObject(parsed.error) || typeof parsed.error.code !== 'number') return undefined;
    return { code: parsed.error.code, data: parsed.error.data };
  } catch {
    return undefined;
  }
}
