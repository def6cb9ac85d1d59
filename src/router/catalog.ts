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

/**
 * Caches each server's lists and each view's merged lists. A server's list is fetched once and kept
 * until the server says it changed (`notifications/*\/list_changed`) or restarts.
 */
export class Catalog {
  private readonly lists = new Map<string, Params[]>();
  private readonly loading = new Map<string, Promise<Params[]>>();
  private readonly viewLists = new Map<string, Promise<ViewList>>();
  private readonly built = new Map<string, ViewList>();
  /** Recent merged lists by cursor prefix, oldest first. */
  private readonly snapshots = new Map<string, ViewList>();

  constructor(
    private readonly fetch: ListFetcher,
    private readonly separator: string,
    private readonly pageSize: number,
  ) {}

  /** The merged list when it is already built (no promise: the hot path of every call). */
  peek(view: View, kind: ListKind): ViewList | undefined {
    return this.built.get(`${view.listKey ?? view.name}\0${kind}`);
  }

  /** The merged list of `kind` for `view`; servers that fail are left out and reported. */
  listFor(view: View, kind: ListKind): Promise<ViewList> {
    const key = `${view.listKey ?? view.name}\0${kind}`;
    let list = this.viewLists.get(key);
    if (!list) {
      list = this.build(view, kind);
      this.viewLists.set(key, list);
      // A view with failures is not cached, so the next call tries the failed servers again.
      list.then(
        (built) => {
          if (this.viewLists.get(key) !== list) return;
          if (built.failures.size > 0) this.viewLists.delete(key);
          else this.built.set(key, built);
        },
        () => this.viewLists.get(key) === list && this.viewLists.delete(key),
      );
    }
    return list;
  }

  /** Forgets a server's lists (all kinds when `kinds` is omitted). */
  invalidate(server: string, kinds: readonly ListKind[] = ['tools', 'prompts', 'resources', 'resourceTemplates']): void {
    for (const kind of kinds) {
      this.lists.delete(`${server}\0${kind}`);
      this.loading.delete(`${server}\0${kind}`);
    }
    for (const key of [...this.viewLists.keys()]) {
      const kind = key.slice(key.indexOf('\0') + 1) as ListKind;
      if (kinds.includes(kind)) {
        this.viewLists.delete(key);
        this.built.delete(key);
      }
    }
  }

  /** Forgets the merged lists of the named views, or of every view (when the set of views or servers changes). */
  clearViews(names?: Iterable<string>): void {
    if (names === undefined) {
      this.viewLists.clear();
      this.built.clear();
      return;
    }
    const prefixes = [...names].map((name) => `${name}\0`);
    for (const map of [this.viewLists, this.built]) {
      for (const key of [...map.keys()]) if (prefixes.some((prefix) => key.startsWith(prefix))) map.delete(key);
    }
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
      loading = this.fetch(server, kind);
      this.loading.set(key, loading);
      loading.then(
        (items) => {
          if (this.loading.get(key) === loading) {
            this.lists.set(key, items);
            this.loading.delete(key);
          }
        },
        () => this.loading.get(key) === loading && this.loading.delete(key),
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
