import type { GatehouseError } from '../core/index.js';
import { UpstreamFailure, isServerFailure } from '../upstreams/index.js';

/**
 * Whether a failed attempt may be sent again. Never a timeout (the server may still be working on it),
 * never a refusal by an open circuit or a crash loop. A request that never left (no connection) may go to another
 * replica whatever it is; one that left and lost its connection, or got a transport error, only when
 * it is idempotent (a tool annotated idempotentHint or readOnlyHint, a read, a prompt).
 */
export function retriable(error: unknown, idempotent: boolean, balanced: boolean): boolean {
  if (!isServerFailure(error) || (error as GatehouseError).code !== 'upstream_unavailable') return false;
  if (error instanceof UpstreamFailure && error.kind === 'unreachable') return idempotent || balanced;
  return idempotent;
}
