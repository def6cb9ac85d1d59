import { GatehouseError, randomToken } from '../core/index.js';
import { listKeyOf, type ListKind, type Params } from '../protocol/index.js';
import { toModernResult } from '../protocol/eras/index.js';
import { exposedName, exposedUri } from './names.js';
import type { View } from './view.js';

/** Where an exposed name or URI leads. */
export interface Target {
  readonly server: string;
  /** The name (tools, prompts) or URI (resources) the server knows it by. */
  readonly original: string;
  /** The item as the server listed it (annotations are read from here). */
  readonly item: Params;
}

/** A view's merged list of one kind, serialised once per page so that list calls cost a string concat. */
export interface ViewList {
  readonly items: readonly Params[];
  readonly index: ReadonlyMap<string, Target>;
  readonly pages: readonly string[];
  /** The same pages shaped for 2026-07-28 clients (resultType, ttlMs, cacheScope), made on first use. */
  modernPages?: string[];
  readonly cursorPrefix: string;
  /** Servers whose list could not be fetched, with the reason (left out of `items`). */
  readonly failures: ReadonlyMap<string, string>;
}

const METHOD_OF_LIST_KEY: Record<string, string> = {
  tools: 'tools/list',
  prompts: 'prompts/list',
  resources: 'resources/list',
  resourceTemplates: 'resources/templates/list',
};

function modernPage(page: string): string {
  const parsed = JSON.parse(page) as Params;
  const method = METHOD_OF_LIST_KEY[Object.keys(parsed).find((key) => key in METHOD_OF_LIST_KEY) ?? 'tools']!;
  return JSON.stringify(toModernResult(method, parsed));
}

export type ListFetcher = (server: string, kind: ListKind) => Promise<Params[]>;

/** Every kind of list a server may have. */
export const LIST_KINDS: readonly ListKind[] = ['tools', 'prompts', 'resources', 'resourceTemplates'];

/**
 * How long a server's failed list is taken as failed before it is fetched again. Without it, every
 * call through a view with a hung server waited for that server's list timeout again (twice: the
 * filters and the router each resolve the name), so one hung upstream slowed every call.
 */
export const FAILED_LIST_RETRY_MS = 5_000;

/**
 * Caches each server's lists and each view's merged lists. A server's list is fetched once and kept
 * until the server says it changed (`notifications/*\/list_changed`) or restarts. A list that fails
 * is left out of the merged lists and asked for again after FAILED_LIST_RETRY_MS, or as soon as its
 * server connects again; when it comes back, `onReturned` tells the router.
 */
export class Catalog {
  private readonly lists = new Map<string, Params[]>();
  private readonly loading = new Map<string, Promise<Params[]>>();
  /** Servers' lists that failed, with why and when: not fetched again before FAILED_LIST_RETRY_MS. */
  private readonly failed = new Map<string, { readonly reason: string; readonly at: number }>();
  private readonly viewLists = new Map<string, Promise<ViewList>>();
  /** Merged lists as last built, those that left failed servers out included. */
  private readonly built = new Map<string, ViewList>();
  /** When a merged list that left servers out is built again (epoch ms). */
  private readonly retryAt = new Map<string, number>();
  /** Server lists (`server\0kind`) left out of a merged list since they last succeeded: their return is news to clients. */
  private readonly leftOut = new Set<string>();
  /** Recent merged lists by cursor prefix, oldest first. */
  private readonly snapshots = new Map<string, ViewList>();

  constructor(
    private readonly fetch: ListFetcher,
    private readonly separator: string,
    private readonly pageSize: number,
    /** A server list that had been left out of a merged list was fetched: the views that show the server now list more. */
    private readonly onReturned?: (server: string, kind: ListKind) => void,
  ) {}

  /**
   * The merged list when it is already built (no promise: the hot path of every call). One that left
   * failed servers out is still answered from (calls to the others go on at once) and, once its retry
   * time has passed, built again in the background.
   */
  peek(view: View, kind: ListKind): ViewList | undefined {
    const key = `${view.listKey ?? view.name}\0${kind}`;
    const list = this.built.get(key);
    if (list !== undefined && list.failures.size > 0 && Date.now() >= (this.retryAt.get(key) ?? Infinity)) this.listFor(view, kind).catch(() => undefined);
    return list;
  }

  /** The merged list as peek() has it, else once it is built: what a call resolves names against. */
  current(view: View, kind: ListKind): Promise<ViewList> {
    const list = this.peek(view, kind);
    return list === undefined ? this.listFor(view, kind) : Promise.resolve(list);
  }

  /**
   * The target of an exposed name among one server's items as `view` shows them, waiting for that
   * server's list only: what a call resolves against while the view's merged list is not built (at
   * first, or after a list changed), so that it never waits for another server's slow list. The
   * merged list is built meanwhile for the calls after. Rejects with the server's list failure.
   */
  async findInServer(view: View, server: string, kind: ListKind, exposed: string): Promise<Target | undefined> {
    this.listFor(view, kind).catch(() => undefined);
    for (const item of await this.serverList(server, kind)) {
      const shown = this.expose(view, server, kind, item);
      if (shown?.[0] === exposed) return { server, original: shown[1], item };
    }
    return undefined;
  }

  /** The merged list of `kind` for `view`; servers that fail are left out and reported. */
  listFor(view: View, kind: ListKind): Promise<ViewList> {
    const key = `${view.listKey ?? view.name}\0${kind}`;
    let list = this.viewLists.get(key);
    // A list that left servers out is kept until its retry time: then the failed servers are asked again.
    if (list !== undefined && this.retryAt.has(key) && Date.now() >= this.retryAt.get(key)!) list = undefined;
    if (!list) {
      const building = this.build(view, kind);
      list = building;
      this.viewLists.set(key, building);
      this.retryAt.delete(key);
      building.then(
        (built) => {
          if (this.viewLists.get(key) !== building) return;
          this.built.set(key, built);
          if (built.failures.size > 0) this.retryAt.set(key, Date.now() + FAILED_LIST_RETRY_MS);
        },
        () => this.viewLists.get(key) === building && this.viewLists.delete(key),
      );
    }
    return list;
  }

  /** Forgets a server's lists (all kinds when `kinds` is omitted). */
  invalidate(server: string, kinds: readonly ListKind[] = LIST_KINDS): void {
    for (const kind of kinds) {
      this.lists.delete(`${server}\0${kind}`);
      this.loading.delete(`${server}\0${kind}`);
      this.failed.delete(`${server}\0${kind}`);
    }
    this.forgetViews((key) => kinds.includes(key.slice(key.indexOf('\0') + 1) as ListKind));
  }

  /** Forgets the merged lists (`view\0kind` keys) that `matches`, built or being built. */
  private forgetViews(matches: (key: string) => boolean): void {
    for (const key of new Set([...this.viewLists.keys(), ...this.built.keys()])) {
      if (!matches(key)) continue;
      this.viewLists.delete(key);
      this.built.delete(key);
      this.retryAt.delete(key);
    }
  }

  /**
   * The server is connected again: its lists that failed may be fetched at once rather than after
   * their retry time (what failed was most likely the connection).
   */
  forgetFailures(server: string): void {
    for (const key of [...this.failed.keys()]) if (key.startsWith(`${server}\0`)) this.failed.delete(key);
  }

  /** Forgets the merged lists of the named views, or of every view (when the set of views or servers changes). */
  clearViews(names?: Iterable<string>): void {
    if (names === undefined) {
      this.forgetViews(() => true);
      return;
    }
    const prefixes = [...names].map((name) => `${name}\0`);
    this.forgetViews((key) => prefixes.some((prefix) => key.startsWith(prefix)));
  }

  /**
   * The page a cursor names. A cursor names a snapshot: paging goes on through the list as it was when
   * the first page was served, even if a server's list changed meanwhile (a consistent walk), as long
   * as the snapshot is among the last few kept; older cursors are `invalid_params`.
   */
  page(list: ViewList, cursor: unknown, modern = false): string {
    let source = list;
    let index = 0;
    if (cursor !== undefined) {
      const dot = typeof cursor === 'string' ? cursor.lastIndexOf('.') : -1;
      const snapshot = dot > 0 ? (cursor as string).slice(0, dot) : undefined;
      const found = snapshot === list.cursorPrefix ? list : snapshot === undefined ? undefined : this.snapshots.get(snapshot);
      index = Number((cursor as string).slice(dot + 1));
      if (!found || !Number.isInteger(index) || found.pages[index] === undefined) {
        throw new GatehouseError('invalid_params', 'The cursor is unknown or expired (the list changed); list again from the start.');
      }
      source = found;
    }
    const pages = modern ? (source.modernPages ??= source.pages.map(modernPage)) : source.pages;
    return pages[index]!;
  }

  private serverList(server: string, kind: ListKind): Promise<Params[]> {
    const key = `${server}\0${kind}`;
    const cached = this.lists.get(key);
    if (cached) return Promise.resolve(cached);
    let loading = this.loading.get(key);
    if (!loading) {
      const failed = this.failed.get(key);
      if (failed !== undefined && Date.now() - failed.at < FAILED_LIST_RETRY_MS) return Promise.reject(new Error(failed.reason));
      const fetching = this.fetch(server, kind);
      loading = fetching;
      this.loading.set(key, fetching);
      fetching.then(
        (items) => {
          if (this.loading.get(key) !== fetching) return;
          this.lists.set(key, items);
          this.loading.delete(key);
          this.failed.delete(key);
          if (this.leftOut.delete(key)) {
            // Merged lists built without it are rebuilt with it, and their clients are told.
            this.forgetViews((viewKey) => viewKey.endsWith(`\0${kind}`));
            this.onReturned?.(server, kind);
          }
        },
        (error: unknown) => {
          if (this.loading.get(key) !== fetching) return;
          this.loading.delete(key);
          this.failed.set(key, { reason: error instanceof Error ? error.message : String(error), at: Date.now() });
        },
      );
    }
    return loading;
  }

  private async build(view: View, kind: ListKind): Promise<ViewList> {
    const settled = await Promise.allSettled(view.servers.map((server) => this.serverList(server, kind)));
    const items: Params[] = [];
    const index = new Map<string, Target>();
    const failures = new Map<string, string>();
    settled.forEach((outcome, position) => {
      const server = view.servers[position]!;
      if (outcome.status === 'rejected') {
        failures.set(server, outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason));
        this.leftOut.add(`${server}\0${kind}`);
        return;
      }
      for (const item of outcome.value) {
        const exposed = this.expose(view, server, kind, item);
        if (exposed === undefined) continue;
        const [key, original, shown] = exposed;
        if (index.has(key)) continue; // first wins; a server listing a name twice is its own bug
        index.set(key, { server, original, item });
        items.push(shown);
      }
    });
    const cursorPrefix = randomToken(6);
    const listKey = listKeyOf[kind];
    const pages: string[] = [];
    for (let start = 0; start === 0 || start < items.length; start += this.pageSize) {
      const page: Params = { [listKey]: items.slice(start, start + this.pageSize) };
      if (start + this.pageSize < items.length) page.nextCursor = `${cursorPrefix}.${pages.length + 1}`;
      pages.push(JSON.stringify(page));
    }
    const list: ViewList = { items, index, pages, cursorPrefix, failures };
    this.snapshots.set(cursorPrefix, list);
    if (this.snapshots.size > SNAPSHOTS_KEPT) this.snapshots.delete(this.snapshots.keys().next().value!);
    return list;
  }

  private expose(view: View, server: string, kind: ListKind, item: Params): [string, string, Params] | undefined {
    const field = kind === 'resources' ? 'uri' : kind === 'resourceTemplates' ? 'uriTemplate' : 'name';
    const original = item[field];
    if (typeof original !== 'string') return undefined;
    if (view.permits !== undefined && !view.permits(server, kind, original)) return undefined;
    if (view.select !== undefined) {
      const selected = view.select(server, kind, item);
      return selected && [selected.exposed, original, selected.item];
    }
    if (!view.prefixed) return [original, original, item];
    const shown = field === 'name' ? exposedName(server, original, this.separator) : exposedUri(server, original);
    return [shown, original, { ...item, [field]: shown }];
  }
}

/** How many merged lists stay reachable by their cursors after being replaced. */
const SNAPSHOTS_KEPT = 16;
