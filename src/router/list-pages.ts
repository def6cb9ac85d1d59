import { GatehouseError } from '../core/index.js';
import { listKeyOf, listMethodOf, type ListKind, type Params } from '../protocol/index.js';
import type { Upstream } from '../upstreams/index.js';

/** The capability a server declares for each kind of list; a server without it is not asked. */
const CAPABILITY_OF_KIND: Record<ListKind, string> = { tools: 'tools', prompts: 'prompts', resources: 'resources', resourceTemplates: 'resources' };
/** A server that keeps answering with a next cursor is stopped here rather than followed forever. */
const MAX_LIST_PAGES = 100;

/**
 * Every page of one list from a server's shared connection, within `timeoutMs` for the connection
 * and for each page (a hung server must not hold a client's list up).
 */
export async function fetchAllPages(upstream: Upstream, kind: ListKind, timeoutMs: number): Promise<Params[]> {
  const server = upstream.name;
  const client = await withTimeout(upstream.sharedClient(), timeoutMs, server);
  if (client.identity?.capabilities[CAPABILITY_OF_KIND[kind]] === undefined) return [];
  const items: Params[] = [];
  let cursor: unknown;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const response = await client.request(listMethodOf[kind], cursor === undefined ? undefined : { cursor }, { timeoutMs, idempotent: true });
    if ('error' in response) throw new GatehouseError('upstream_unavailable', `Server "${server}" failed ${listMethodOf[kind]}: ${response.error.message}`);
    const pageItems = response.result[listKeyOf[kind]];
    if (Array.isArray(pageItems)) items.push(...(pageItems as Params[]));
    cursor = response.result.nextCursor;
    if (typeof cursor !== 'string' || cursor.length === 0) break;
  }
  return items;
}

function withTimeout<T>(promise: Promise<T>, ms: number, server: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new GatehouseError('upstream_timeout', `Server "${server}" is not ready after ${ms} ms.`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
