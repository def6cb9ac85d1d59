/**
 * Whether and where a call may go: the policy conditions on its arguments, another attempt after a
 * failed one (at most MAX_RETRIES, within the server's retry budget), and the fallback server a failed
 * tool call may go to instead. Plain functions the Router calls directly (the hot path adds no hop).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { ANONYMOUS, GatehouseError } from '../core/index.js';
import type { ListKind, Params } from '../protocol/index.js';
import { UpstreamFailure, refusedUnsent, retryBackoffMs, type Upstream } from '../upstreams/index.js';
import type { Catalog } from './catalog.js';
import type { ClientLink } from './client-link.js';
import { serverView } from './view.js';

/** Retries after the first attempt, at most (each also needs the server's retry budget). */
const MAX_RETRIES = 2;

/** Policy conditions on the arguments of a call to an item the caller may see. */
export function checkCall(session: ClientLink, server: string, kind: ListKind, name: string, args: unknown): void {
  const authorize = session.view.authorizeCall;
  if (authorize !== undefined && !authorize(session.identity ?? ANONYMOUS, server, kind, name, args)) {
    throw new GatehouseError('call_denied', undefined, { name: name.slice(0, 200) });
  }
}

/** Whether another attempt may go (at most MAX_RETRIES, within the server's budget); waits out the backoff when it may. */
export async function mayRetry(upstream: Upstream | undefined, retry: number): Promise<boolean> {
  if (upstream === undefined || retry >= MAX_RETRIES || !upstream.retryBudget.withdraw()) return false;
  await delay(retryBackoffMs(retry));
  return true;
}

/**
 * The fallback server's tool of the same name, when the failed call may go there: the server names
 * one, the call never reached the primary (open circuit, crash loop, no connection) or is safe to repeat, and the
 * caller may call that tool there.
 */
export async function fallbackFor(
  upstreams: ReadonlyMap<string, Upstream>,
  catalog: Catalog,
  session: ClientLink,
  server: string,
  tool: string,
  args: unknown,
  error: unknown,
  idempotent: boolean,
): Promise<{ server: string; item: Params } | undefined> {
  const name = upstreams.get(server)?.config.fallback;
  if (name === undefined || name === server || !upstreams.has(name)) return undefined;
  if (!(error instanceof GatehouseError) || error.code !== 'upstream_unavailable') return undefined;
  const neverSent = refusedUnsent(error) || (error instanceof UpstreamFailure && error.kind === 'unreachable');
  if (!neverSent && !idempotent) return undefined;
  const list = await catalog.listFor(serverView(name), 'tools').catch(() => undefined);
  const target = list?.index.get(tool);
  if (target === undefined) return undefined;
  const authorize = session.view.authorizeCall;
  if (authorize !== undefined && !authorize(session.identity ?? ANONYMOUS, name, 'tools', tool, args)) return undefined;
  return { server: name, item: target.item };
}
