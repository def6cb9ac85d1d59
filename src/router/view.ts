import type { Identity } from '../core/index.js';
import type { ListKind, Params } from '../protocol/index.js';

/**
 * What one endpoint shows. `/mcp` (aggregate) shows every server with prefixed names;
 * `/servers/<name>/mcp` shows one server with its names unchanged (transparent: methods the gateway
 * does not know pass through), or a virtual server: a curated selection from several servers.
 */
export interface View {
  readonly name: string;
  readonly kind: 'aggregate' | 'server' | 'virtual';
  readonly servers: readonly string[];
  /** Whether names and URIs carry the server prefix. */
  readonly prefixed: boolean;
  /** Virtual servers: whether an item is in the selection, and how it is shown. */
  readonly select?: ItemSelection;
  /** Virtual servers: what `initialize` says about the endpoint. */
  readonly about?: { readonly title?: string; readonly description?: string };
  /**
   * What one caller may use here (roles and policies), by the server's own names; items it may not
   * use are left out of its lists and so cannot be called either.
   */
  readonly permits?: (server: string, kind: ListKind, name: string) => boolean;
  /** Caches the merged lists under this key instead of `name` (a view narrowed for some callers). */
  readonly listKey?: string;
  /** Policy conditions on a call's arguments, checked after the item resolved (only when some exist). */
  readonly authorizeCall?: (identity: Identity, server: string, kind: ListKind, name: string, args: unknown) => boolean;
}

/** The name (or URI) a selected item is shown under, and the item as shown; undefined when not selected. */
export type ItemSelection = (server: string, kind: ListKind, item: Params) => { readonly exposed: string; readonly item: Params } | undefined;

export const AGGREGATE_VIEW_NAME = '*';

/** A view over one server's own endpoint (also used to look up one server's own lists). */
export function serverView(server: string): View {
  return { name: server, kind: 'server', servers: [server], prefixed: false };
}
