import type { RequestOutcome } from '../protocol/index.js';

/**
 * An HTTP Retry-After (RFC 9110 §10.2.3, whole seconds, rounded up) for an error that says when to
 * retry (`data.retryAfterMs`: rate limits, quotas); undefined for anything else. The JSON-RPC error
 * stays in the body on 200: MCP clients read errors there, and a 429 would turn it into a transport
 * failure that hides `data`; the header is for HTTP-level clients and proxies.
 */
export function retryAfterSeconds(outcome: RequestOutcome): number | undefined {
  if (outcome === undefined || !('error' in outcome)) return undefined;
  const data = outcome.error.data;
  const ms = typeof data === 'object' && data !== null ? (data as { retryAfterMs?: unknown }).retryAfterMs : undefined;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? Math.max(1, Math.ceil(ms / 1000)) : undefined;
}
