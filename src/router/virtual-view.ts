import picomatch from 'picomatch';
import type { ListKind, Params } from '../protocol/index.js';
import type { ItemSelection, View } from './view.js';

/** The shape of a virtual server's selection (the registry's zod schema produces it; the router needs only this). */
export interface SelectionSpec {
  readonly title?: string | undefined;
  readonly description?: string | undefined;
  readonly tools: readonly NameSelector[];
  readonly prompts: readonly NameSelector[];
  readonly resources: readonly UriSelector[];
}

interface NameSelector {
  readonly server: string;
  readonly tag?: string | undefined;
  readonly name: string;
  readonly as?: string | undefined;
  readonly description?: string | undefined;
}

interface UriSelector {
  readonly server: string;
  readonly tag?: string | undefined;
  readonly uri: string;
}

interface CompiledSelector {
  readonly server: (name: string) => boolean;
  readonly tag: string | undefined;
  readonly item: (nameOrUri: string) => boolean;
  readonly as: string | undefined;
  readonly description: string | undefined;
}

/** Globs as in a shell: `*` stops at "/", `**` crosses it; dots are ordinary characters. */
function matcher(glob: string): (value: string) => boolean {
  return glob === '*' || glob === '**' ? () => true : picomatch(glob, { dot: true });
}

function compile(selectors: readonly (NameSelector | UriSelector)[]): CompiledSelector[] {
  return selectors.map((selector) => ({
    server: matcher(selector.server),
    tag: selector.tag,
    item: matcher('uri' in selector ? selector.uri : selector.name),
    as: 'as' in selector ? selector.as : undefined,
    description: 'description' in selector ? selector.description : undefined,
  }));
}

/**
 * A virtual server as a view: the servers its selectors can reach, and a selection function the
 * catalog applies to every listed item. The first selector that matches an item decides how it is
 * shown; an item no selector matches does not exist on this endpoint (listing and calling agree).
 */
export function virtualView(name: string, spec: SelectionSpec, servers: ReadonlyMap<string, { readonly tags: readonly string[] }>): View {
  const byKind: Record<'tools' | 'prompts' | 'resources', CompiledSelector[]> = {
    tools: compile(spec.tools),
    prompts: compile(spec.prompts),
    resources: compile(spec.resources),
  };
  const reaches = (selector: CompiledSelector, server: string): boolean =>
    selector.server(server) && (selector.tag === undefined || (servers.get(server)?.tags.includes(selector.tag) ?? false));
  const members = [...servers.keys()].filter((server) => Object.values(byKind).some((selectors) => selectors.some((selector) => reaches(selector, server))));

  const select: ItemSelection = (server: string, kind: ListKind, item: Params) => {
    const field = kind === 'resources' ? 'uri' : kind === 'resourceTemplates' ? 'uriTemplate' : 'name';
    const original = item[field];
    if (typeof original !== 'string') return undefined;
    const selectors = byKind[kind === 'resourceTemplates' ? 'resources' : kind];
    for (const selector of selectors) {
      if (!reaches(selector, server) || !selector.item(original)) continue;
      if (selector.as === undefined && selector.description === undefined) return { exposed: original, item };
      const exposed = selector.as ?? original;
      return { exposed, item: { ...item, [field]: exposed, ...(selector.description !== undefined ? { description: selector.description } : {}) } };
    }
    return undefined;
  };
  const about = { ...(spec.title !== undefined ? { title: spec.title } : {}), ...(spec.description !== undefined ? { description: spec.description } : {}) };
  return { name, kind: 'virtual', servers: members, prefixed: false, select, about };
}

/** The server a URI outside the listed resources may be read from: the first whose resource selector matches it. */
export function virtualUriServer(view: View, uri: string): string | undefined {
  if (view.select === undefined) return undefined;
  for (const server of view.servers) {
    if (view.select(server, 'resources', { uri }) !== undefined) return server;
  }
  return undefined;
}
