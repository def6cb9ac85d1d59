import { GatehouseError } from '../core/index.js';
import type { Catalog, Target } from './catalog.js';
import { splitExposedUri } from './names.js';
import { serverView, type View } from './view.js';
import { virtualUriServer } from './virtual-view.js';

/** Finds a tool or prompt by exposed name; a name from a server that is down still says so. */
export async function resolveName(catalog: Catalog, separator: string, view: View, kind: 'tools' | 'prompts', name: string): Promise<Target | undefined> {
  let list = catalog.peek(view, kind);
  if (list === undefined) {
    // No merged list yet: a prefixed name says its server, and that server's list alone will do.
    const server = view.prefixed && view.select === undefined ? serverOfName(view, name, separator) : undefined;
    if (server !== undefined) {
      try {
        return await catalog.findInServer(view, server, kind, name);
      } catch (error) {
        throw new GatehouseError('upstream_unavailable', `Its tools could not be listed: ${error instanceof Error ? error.message : String(error)}`, { server });
      }
    }
    list = await catalog.listFor(view, kind);
  }
  const target = list.index.get(name);
  if (target || list.failures.size === 0) return target;
  // One server's own endpoint stays transparent when its list cannot be had: the server decides.
  if (view.kind === 'server') {
    if (view.permits !== undefined && !view.permits(view.servers[0]!, kind, name)) return undefined;
    return { server: view.servers[0]!, original: name, item: {} };
  }
  for (const server of list.failures.keys()) {
    if (name.startsWith(`${server}${separator}`)) {
      throw new GatehouseError('upstream_unavailable', `Its tools could not be listed: ${list.failures.get(server)}`, { server });
    }
  }
  return undefined;
}

/** The server whose prefix starts `name` (the longest, should one server's name begin another's). */
function serverOfName(view: View, name: string, separator: string): string | undefined {
  let found: string | undefined;
  for (const server of view.servers) {
    if (name.startsWith(`${server}${separator}`) && (found === undefined || server.length > found.length)) found = server;
  }
  return found;
}

/** Maps an exposed URI to its server: by prefix, else by an exact listed URI, else the only server. */
export async function resolveUri(catalog: Catalog, view: View, uri: string): Promise<{ server: string; uri: string }> {
  const target = await locateUri(catalog, view, uri);
  // A caller may read only what its policies let it list (templates are matched as URIs).
  if (view.permits !== undefined && !view.permits(target.server, 'resources', target.uri)) throw unknownResource(uri);
  return target;
}

function unknownResource(uri: string): GatehouseError {
  return new GatehouseError('resource_not_found', `No resource "${uri.slice(0, 200)}".`, { uri: uri.slice(0, 200) });
}

async function locateUri(catalog: Catalog, view: View, uri: string): Promise<{ server: string; uri: string }> {
  if (view.kind === 'server') return { server: view.servers[0]!, uri };
  if (view.kind === 'virtual') {
    // Outside the selection a URI does not exist: listed ones, else ones a resource selector matches
    // (reads of URIs made from a selected template).
    const listed = (await catalog.current(view, 'resources').catch(() => undefined))?.index.get(uri);
    const server = listed?.server ?? virtualUriServer(view, uri);
    if (server === undefined) throw unknownResource(uri);
    return { server, uri: listed?.original ?? uri };
  }
  const split = splitExposedUri(uri, (name) => view.servers.includes(name));
  if (split) return split;
  const listed = (await catalog.current(view, 'resources').catch(() => undefined))?.index.get(uri);
  if (listed) return { server: listed.server, uri: listed.original };
  // A URI from a tool result (resource_link) is not prefixed; find the server that lists it.
  for (const server of view.servers) {
    const found = (await catalog.current(serverView(server), 'resources').catch(() => undefined))?.index.get(uri);
    if (found) return { server, uri };
  }
  if (view.servers.length === 1) return { server: view.servers[0]!, uri };
  throw new GatehouseError('resource_not_found', `No server offers "${uri.slice(0, 200)}".`, { uri: uri.slice(0, 200) });
}
