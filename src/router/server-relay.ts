/**
 * What comes from servers besides the replies to forwarded calls, and where it goes: how a view
 * describes itself at initialize (from its servers' identities), each server's lists (fetched for the
 * catalog, compared again when its shared connection moves to another replica), and the requests and
 * notifications servers send on their own. Plain functions the Router calls with the state they need,
 * so its fields stay its own and its calls direct.
 */
import { createHash } from 'node:crypto';
import { GATEWAY_VERSION, GatehouseError } from '../core/index.js';
import {
  Method,
  clientCapabilityFor,
  listChangedKindOf,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type ListKind,
  type Params,
} from '../protocol/index.js';
import type { Upstream, UpstreamClient } from '../upstreams/index.js';
import { mayRetry } from './call-policy.js';
import { LIST_KINDS, type Catalog } from './catalog.js';
import type { ClientLink } from './client-link.js';
import { fetchAllPages } from './list-pages.js';
import { exposedUri } from './names.js';
import type { InflightCall, RelayState } from './relay-state.js';
import { retriable } from './retry-policy.js';
import type { RouterOptions } from './router.js';
import { setUpAgain } from './session-setup.js';
import { serverView, type View } from './view.js';

/** Capabilities a view that aggregates servers offers whatever its members do. */
const AGGREGATE_CAPABILITIES: Params = {
  tools: { listChanged: true },
  prompts: { listChanged: true },
  resources: { subscribe: true, listChanged: true },
  logging: {},
  completions: {},
};

const LIST_CHANGED_METHOD: Record<ListKind, string> = {
  tools: Method.toolsListChanged,
  prompts: Method.promptsListChanged,
  resources: Method.resourcesListChanged,
  resourceTemplates: Method.resourcesListChanged,
};

/** What `initialize` answers for a view: one server's own capabilities, or the aggregate set (Router.describe). */
export async function describeView(upstreams: ReadonlyMap<string, Upstream>, view: View): Promise<{ capabilities: Params; instructions?: string; serverInfo?: Params }> {
  if (view.kind === 'server') {
    const upstream = upstreams.get(view.servers[0]!);
    const identity = await upstream
      ?.sharedClient()
      .then((client) => client.identity)
      .catch(() => undefined);
    if (identity) {
      // One server's own endpoint is transparent: the client sees that server's identity.
      return {
        capabilities: identity.capabilities,
        serverInfo: identity.serverInfo,
        ...(identity.instructions ? { instructions: identity.instructions } : {}),
      };
    }
    return { capabilities: AGGREGATE_CAPABILITIES };
  }
  if (view.kind === 'virtual') {
    const description = view.about?.description;
    return {
      capabilities: AGGREGATE_CAPABILITIES,
      serverInfo: { name: view.name, version: GATEWAY_VERSION, ...(view.about?.title !== undefined ? { title: view.about.title } : {}) },
      ...(description !== undefined ? { instructions: description } : {}),
    };
  }
  const parts: string[] = [];
  for (const name of view.servers) {
    const instructions = upstreams.get(name)?.identity?.instructions;
    if (instructions) parts.push(`## ${name}\n${instructions}`);
  }
  return { capabilities: AGGREGATE_CAPABILITIES, ...(parts.length > 0 ? { instructions: parts.join('\n\n') } : {}) };
}

/** Fetches every page of one list from a server's shared session (the catalog's source). */
export async function fetchList(upstreams: ReadonlyMap<string, Upstream>, listFingerprints: Map<string, string>, options: RouterOptions, server: string, kind: ListKind): Promise<Params[]> {
  const upstream = upstreams.get(server);
  if (!upstream) throw new GatehouseError('upstream_unavailable', `Server "${server}" is not configured.`);
  try {
    return await fetchListFrom(upstream, listFingerprints, options, kind);
  } catch (error) {
    // Lists are reads: when the replica the shared connection was on failed, the connection has
    // moved (Upstream drops it), and the list is asked once more there, within the retry budget.
    if (!upstream.balanced || !retriable(error, true, true) || !(await mayRetry(upstream, 0))) throw error;
    return fetchListFrom(upstream, listFingerprints, options, kind);
  }
}

async function fetchListFrom(upstream: Upstream, listFingerprints: Map<string, string>, options: RouterOptions, kind: ListKind): Promise<Params[]> {
  const server = upstream.name;
  const items = await fetchAllPages(upstream, kind, options.listTimeoutMs);
  options.onServerListed?.(server, kind, items);
  // Kept to tell, when the server is reached on another replica or comes back after a restart,
  // whether its lists differ (relistServer).
  listFingerprints.set(`${server}\0${kind}`, createHash('sha256').update(JSON.stringify(items)).digest('base64'));
  return items;
}

/** Sends the notification `method` (a list_changed) to every session whose endpoint shows `server`. */
function tellSessionsOf(options: RouterOptions, server: string, method: string): void {
  const notification: JsonRpcNotification = { jsonrpc: '2.0', method };
  for (const session of options.sessions()) if (session.view.servers.includes(server)) session.send(notification);
}

/** A server's list changed: the catalog forgets it, and the sessions that see the server are told. */
export function listChanged(catalog: Catalog, options: RouterOptions, server: string, method: string): void {
  catalog.invalidate(server, listChangedKindOf.get(method) ?? []);
  tellSessionsOf(options, server, method);
}

/**
 * A server's list is back after it was left out of merged lists (the server was down, slow to start,
 * or its list failed): sessions that see the server are told, since nothing else would make them list
 * again, and until they do its tools stay out of what they know.
 */
export function listReturned(options: RouterOptions, server: string, kind: ListKind): void {
  tellSessionsOf(options, server, LIST_CHANGED_METHOD[kind]);
}

/**
 * A server's lists are fetched again and the sessions that see it are told of each list that is not
 * what it was: when its shared connection moved to another replica (`moved`: what was cached came
 * from the other one), or came back after it was lost (`reconnected`: a restarted server may be
 * another version). Lists that had failed are asked for at once.
 */
export function relistServer(catalog: Catalog, listFingerprints: ReadonlyMap<string, string>, options: RouterOptions, server: string, why: 'moved' | 'reconnected'): void {
  const before = LIST_KINDS.map((kind) => listFingerprints.get(`${server}\0${kind}`));
  if (why === 'moved') catalog.invalidate(server);
  else catalog.forgetFailures(server);
  LIST_KINDS.forEach((kind, index) => {
    catalog.listFor(serverView(server), kind).then(
      () => {
        const after = listFingerprints.get(`${server}\0${kind}`);
        if (before[index] === undefined || after === undefined || after === before[index]) return;
        options.logger.info({ server, kind }, why === 'moved' ? 'the replica the server is now reached on lists other items' : 'the server lists other items since it reconnected');
        tellSessionsOf(options, server, LIST_CHANGED_METHOD[kind]);
      },
      () => undefined,
    );
  });
}

/**
 * The session a server's request is put to, or undefined when it was dealt with here: queued for a
 * 2026-07-28 caller's next input_required result, or answered for a client that cannot take it.
 */
export function sessionToAsk(client: UpstreamClient, request: JsonRpcRequest, call: InflightCall | undefined): ClientLink | undefined {
  if (call?.inputs) {
    // A 2026-07-28 caller cannot be sent requests: they become its next input_required result.
    call.inputs.pending.push(request);
    call.inputs.wake?.();
    return undefined;
  }
  const session = call?.session ?? (client.owner as ClientLink | undefined);
  if (!session) {
    // A shared server asking outside any call (e.g. roots/list right after initialized) speaks to the
    // gateway itself, which has no roots of its own.
    if (request.method === Method.rootsList) void client.respond({ jsonrpc: '2.0', id: request.id, result: { roots: [] } });
    else void client.respond({ jsonrpc: '2.0', id: request.id, error: { code: -32603, message: 'No client is waiting on this server to answer the request.' } });
    return undefined;
  }
  const capability = clientCapabilityFor.get(request.method);
  if (capability !== undefined && session.clientCapabilities[capability] === undefined) {
    // Servers we share were told the gateway has every capability; this client lacks this one.
    if (request.method === Method.rootsList) void client.respond({ jsonrpc: '2.0', id: request.id, result: { roots: [] } });
    else {
      const error = new GatehouseError('client_capability_missing', `The client does not support ${request.method}.`).toRpcError();
      void client.respond({ jsonrpc: '2.0', id: request.id, error });
    }
    return undefined;
  }
  return session;
}

/** The server withdrew a request it sent the client: the client is told under the id it knows. */
export function forwardServerCancel(relays: ReadonlyMap<string, RelayState>, session: ClientLink, client: UpstreamClient, params: Params): void {
  const relay = relays.get(session.id);
  if (!relay) return;
  for (const [downstreamId, pending] of relay.clientRequests) {
    if (pending.client === client && pending.upstreamId === params.requestId) {
      relay.clientRequests.delete(downstreamId);
      session.send({ jsonrpc: '2.0', method: Method.cancelled, params: { ...params, requestId: downstreamId } });
    }
  }
}

/**
 * The most recent call in flight on a client (for one session, if given). stdio and legacy SSE
 * carry no link between a server's message and the call that caused it: this is the best guess.
 */
export function latestCall(client: UpstreamClient, session?: ClientLink): InflightCall | undefined {
  let found: InflightCall | undefined;
  for (const context of client.inflightContexts()) {
    const call = context as InflightCall | undefined;
    if (call && (session === undefined || call.session === session)) found = call;
  }
  return found;
}

/** The call a message without a transport-level link belongs to, where a guess is allowed. */
export function guessCall(client: UpstreamClient): InflightCall | undefined {
  // Over HTTP a message on no call's stream belongs to no call; stdio and SSE cannot say.
  return client.owner === undefined && !client.relatesMessages ? latestCall(client) : undefined;
}

/** A notification the router does not handle itself: to the session (and call) it belongs to, or to the clients that asked for logs. */
export function relayNotification(relays: ReadonlyMap<string, RelayState>, options: RouterOptions, client: UpstreamClient, notification: JsonRpcNotification, context: unknown): void {
  const call = (context as InflightCall | undefined) ?? guessCall(client);
  const session = call?.session ?? (client.owner as ClientLink | undefined);
  if (session) {
    // stdio and legacy SSE do not say which call a log line belongs to; the session's call in
    // flight on this client is the best guess, and keeps it on that call's stream.
    session.send(notification, call?.downstreamId ?? latestCall(client, session)?.downstreamId);
    return;
  }
  if (notification.method === Method.message) {
    // Log messages from a shared server go to the clients that asked for them with logging/setLevel.
    for (const candidate of options.sessions()) {
      if (relays.get(candidate.id)?.loggingServers.has(client.server)) candidate.send(notification);
    }
  }
}

/** A resource changed: the sessions subscribed to it are told, under the URI they know. */
export function resourceUpdated(relays: ReadonlyMap<string, RelayState>, options: RouterOptions, client: UpstreamClient, params: Params): void {
  const uri = params.uri;
  if (typeof uri !== 'string') return;
  const sessions = client.owner !== undefined ? [client.owner as ClientLink] : options.sessions();
  for (const session of sessions) {
    const relay = relays.get(session.id);
    if (!relay) continue;
    const exposed = session.view.prefixed ? exposedUri(client.server, uri) : uri;
    if (!relay.subscriptions.has(exposed)) continue;
    session.send({ jsonrpc: '2.0', method: Method.resourceUpdated, params: { ...params, uri: exposed } });
  }
}

/**
 * A server's shared connection is back: the sessions that use it set their subscriptions and log
 * level up again on it (Router.onSharedReconnected).
 */
export function setSessionsUpAgain(upstream: Upstream | undefined, client: UpstreamClient, relays: ReadonlyMap<string, RelayState>, options: RouterOptions): void {
  // Sessions with connections of their own (isolation, pools) find out on their next call (forward).
  if (upstream === undefined || upstream.isolatesSessions || upstream.balanced) return;
  for (const session of options.sessions()) {
    const relay = relays.get(session.id);
    if (relay === undefined || !session.view.servers.includes(client.server)) continue;
    relay.clients.set(client.server, client);
    setUpAgain(relay, client, upstream.requestTimeoutMs, options.logger);
  }
}
