import { GATEWAY_VERSION, GatehouseError, type Identity } from '../core/index.js';
import type { Params } from '../protocol/index.js';
import { createUpstreamTransport } from './upstream-transports.js';
import type { UpstreamFailure } from './transport.js';
import { UpstreamClient, type ServerIdentity } from './upstream-client.js';
import type { UpstreamCredentials } from './client-credentials.js';
import { UserTokenCredentials } from './user-credentials.js';
import type { UpstreamEndpoint } from './upstream-endpoint.js';
import { DRAIN_POLL_MS, SupervisedUpstream, type SessionOwner } from './supervised-upstream.js';

export type { UpstreamDefaults, SessionOwner, UpstreamState } from './supervised-upstream.js';

export const GATEWAY_CLIENT_INFO: Params = { name: 'gatehouse', version: GATEWAY_VERSION };

/**
 * Everything the gateway may be asked to relay, declared toward servers the gateway shares between
 * clients; a server request is refused later if the client it is routed to lacks the capability.
 */
const SHARED_CLIENT_CAPABILITIES: Params = { roots: { listChanged: true }, sampling: {}, elicitation: {} };

const PROBE_TIMEOUT_MS = 3_000;
/** The longest delay a Node timer takes (about 24.8 days). */
const LISTEN_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * One configured server: its shared connection (the stdio process, or the HTTP session the gateway
 * uses for lists and health), its per-client sessions, restarts with backoff, and its state.
 */
export class Upstream extends SupervisedUpstream {
  private connecting: Promise<UpstreamClient> | undefined;
  /** A server that acts as the user: 2026-07-28 callers (no session) get one connection per user. */
  private readonly perUser = new Map<string, Promise<UpstreamClient>>();
  private readonly perUserReady = new Map<string, UpstreamClient>();
  /** The stateless client for 2026-07-28 callers, when the server speaks both eras. */
  private modernShared: UpstreamClient | undefined;
  /** The shared connection was made once: a later one replaces a lost one. */
  private everConnected = false;

  get identity(): ServerIdentity | undefined {
    return this.shared?.identity;
  }

  protected override *liveClients(): Generator<UpstreamClient> {
    if (this.shared && !this.shared.isClosed) yield this.shared;
    if (this.modernShared && !this.modernShared.isClosed) yield this.modernShared;
    for (const client of this.ready.values()) if (!client.isClosed) yield client;
    for (const client of this.perUserReady.values()) if (!client.isClosed) yield client;
  }

  /** Whether each downstream session gets its own upstream session (HTTP always; stdio when asked). */
  get isolatesSessions(): boolean {
    return this.config.transport !== 'stdio' || this.config.isolation === 'per-session';
  }

  /** The shared connection, connecting (once, however many callers wait) when there is none. */
  override sharedClient(): Promise<UpstreamClient> {
    if (this.closed) return Promise.reject(new GatehouseError('shutting_down'));
    if (this.shared && !this.shared.isClosed) return Promise.resolve(this.shared);
    this.connecting ??= this.connectShared()
      .then((client) => {
        const reconnected = this.everConnected;
        this.everConnected = true;
        this.shared = client;
        this.state = 'ready';
        this.lastError = undefined;
        // Back after a restart: the next call is a trial instead of waiting out the open circuit.
        client.endpoint.breaker.recovered();
        client.openEventStream();
        this.pool?.fill();
        this.logger.info({ protocolVersion: client.identity?.protocolVersion, serverInfo: client.identity?.serverInfo }, 'upstream ready');
        // Back after a loss (a process restart): the sessions' subscriptions and log levels are set up again.
        if (reconnected) this.handler.onSharedReconnected?.(client);
        this.handler.onSharedReady?.(client);
        if (client.era === 'modern') void this.listen(client);
        else if (this.config.era === 'auto' && this.config.transport === 'streamable-http') return this.probeModern().then(() => client);
        return client;
      })
      .catch((error: unknown) => {
        this.markDown(error);
        throw error instanceof GatehouseError ? error : new GatehouseError('upstream_unavailable', `Server "${this.name}": ${String((error as Error).message ?? error)}`);
      })
      .finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  /**
   * A server that also speaks 2026-07-28 (an SDK v2 server serves both eras on one endpoint) gets a
   * second, stateless client, so that 2026-07-28 callers reach it in their own era: input_required,
   * per-request capabilities and requestState then pass through untouched instead of being bridged.
   */
  private async probeModern(): Promise<void> {
    if (this.modernShared || this.closed || !this.shared) return;
    // A short limit: a server that does not answer server/discover promptly is treated as session-only.
    const probe = this.newClient(undefined, this.shared.endpoint, 'modern', PROBE_TIMEOUT_MS);
    try {
      await probe.connect();
      if (this.closed) await probe.close();
      else {
        this.modernShared = probe;
        this.logger.info('upstream also speaks 2026-07-28; stateless callers use it directly');
      }
    } catch {
      await probe.close();
    }
  }

  /**
   * 2026-07-28 servers announce list changes only on a `subscriptions/listen` stream (there is no GET
   * stream): the gateway keeps one open on the shared client and opens it again when it ends, so
   * list_changed reaches the router like a session-era server's.
   */
  private async listen(client: UpstreamClient): Promise<void> {
    const filter = { notifications: { toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true } };
    while (!this.closed && !client.isClosed) {
      try {
        // The stream lives as long as the server keeps it; no timeout of the gateway's should end it.
        await client.request('subscriptions/listen', filter, { timeoutMs: LISTEN_TIMEOUT_MS });
      } catch (error) {
        this.logger.debug({ reason: (error as Error).message }, 'subscriptions/listen ended');
      }
      await new Promise((resolve) => setTimeout(resolve, this.defaults.restartBackoffMs).unref());
    }
  }

  /** The connected client for a session, without waiting: the hot path's common case. */
  readyClientFor(owner: SessionOwner): UpstreamClient | undefined {
    if (this.userTokens !== undefined && owner.stateless) {
      const client = this.perUserReady.get(owner.identity?.subject ?? '');
      return client && !client.isClosed ? client : undefined;
    }
    if (owner.stateless && this.modernShared && !this.modernShared.isClosed) return this.modernShared;
    if (this.pool !== undefined && !owner.stateless) return this.pool.readyFor(owner.id);
    const client = this.isolatesSessions && !owner.stateless ? this.ready.get(owner.id) : this.shared;
    if (client === undefined || client.isClosed) return undefined;
    // A session on a replica whose circuit opened (or that failed its health check) moves (clientFor).
    return this.balanced && this.shouldLeave(client.endpoint) ? undefined : client;
  }

  /** The client to use for a downstream session's calls. */
  clientFor(owner: SessionOwner, avoid?: UpstreamEndpoint): Promise<UpstreamClient> {
    // Acting as the user: never the shared connection (it holds the server's own credentials).
    if (this.userTokens !== undefined && owner.stateless) return this.userClientFor(owner);
    // A 2026-07-28 caller gets the stateless client when the server speaks both eras (the probe runs
    // before sharedClient() resolves), as readyClientFor() would give it.
    if (owner.stateless) return this.sharedClient().then((client) => this.modernShared ?? client);
    if (this.pool !== undefined) {
      if (this.closed) return Promise.reject(new GatehouseError('shutting_down'));
      if (this.crashLoop.blocked) return Promise.reject(this.crashLoopError());
      return this.pool.clientFor(owner.id, (avoidHere) => this.chooseEndpoint(avoidHere), avoid);
    }
    if (!this.isolatesSessions) return this.sharedClient();
    const existing = this.perSession.get(owner.id);
    if (existing) {
      const current = this.ready.get(owner.id);
      if (!this.balanced || current === undefined || !this.shouldLeave(current.endpoint)) return existing;
      // Its replica's circuit is open, or it failed its health check: re-establish the session on another one.
      this.releaseSession(owner.id);
      return this.clientFor(owner, current.endpoint);
    }
    const created = this.connect(owner, undefined, avoid, true).then((client) => {
      client.openEventStream();
      if (this.perSession.get(owner.id) === created) this.ready.set(owner.id, client);
      return client;
    });
    this.perSession.set(owner.id, created);
    created.catch(() => this.perSession.delete(owner.id));
    return created;
  }

  /**
   * A 2026-07-28 caller of a server that acts as the user: one connection per user, kept for the
   * user's later requests, with no session owner (its requests carry no session, as on the shared one).
   */
  private userClientFor(owner: SessionOwner): Promise<UpstreamClient> {
    const subject = owner.identity?.subject ?? '';
    const existing = this.perUser.get(subject);
    if (existing) return existing;
    const identity = owner.identity;
    const created = this.connect(undefined, identity, undefined, true).then((client) => {
      client.openEventStream();
      if (this.perUser.get(subject) === created) this.perUserReady.set(subject, client);
      return client;
    });
    this.perUser.set(subject, created);
    created.catch(() => this.perUser.delete(subject));
    return created;
  }

  /** The downstream session ended: end its upstream session too. */
  releaseSession(ownerId: string): void {
    this.pool?.release(ownerId);
    const client = this.perSession.get(ownerId);
    if (!client) return;
    this.perSession.delete(ownerId);
    this.ready.delete(ownerId);
    client.then((c) => c.close()).catch(() => undefined);
  }

  /** Called by the handler when a client's connection closed on its own. */
  clientClosed(client: UpstreamClient, reason: Error | undefined): void {
    if (this.pool?.owns(client)) {
      this.poolProcessExited(client, reason);
      return;
    }
    if (client !== this.shared) {
      const owner = client.owner as SessionOwner | undefined;
      // A session's own process that exited on its own counts toward a crash loop like the shared one.
      if (this.config.transport === 'stdio' && owner !== undefined && this.ready.get(owner.id) === client) this.noteCrash();
      this.forgetOther(client);
      return;
    }
    this.shared = undefined;
    if (this.balanced && !this.closed) {
      // Another replica may be up: reconnect now (the balancer avoids this one), down only if none is.
      client.endpoint.failed(reason?.message ?? 'connection closed');
      this.reconnectShared();
      return;
    }
    this.markDown(reason);
    if (this.config.transport === 'stdio' && !this.noteCrash()) this.scheduleRestart();
  }

  private newClient(
    owner: SessionOwner | undefined,
    endpoint: UpstreamEndpoint,
    era = this.config.era,
    initializeTimeoutMs = this.defaults.initializeTimeoutMs,
    credentials: UpstreamCredentials | undefined = this.credentials,
  ): UpstreamClient {
    return new UpstreamClient({
      server: this.name,
      owner,
      createTransport: () => createUpstreamTransport(this.config, { identity: owner?.identity, credentials, endpoint, connectTimeoutMs: this.defaults.initializeTimeoutMs, logger: this.logger }),
      handler: this.handler,
      endpoint,
      onConnectionFailed: this.onConnectionFailed,
      clientInfo: owner?.clientInfo ?? GATEWAY_CLIENT_INFO,
      clientCapabilities: owner?.clientCapabilities ?? SHARED_CLIENT_CAPABILITIES,
      initializeTimeoutMs,
      era,
    });
  }

  /**
   * Connects for a downstream session (`owner`), or the shared connection. A server that acts as the
   * user gets the user's token for everything but the shared connection: `actingFor` names the user
   * when there is no session to read it from.
   */
  private async connect(owner: SessionOwner | undefined, actingFor?: Identity, avoid?: UpstreamEndpoint, forCall = false): Promise<UpstreamClient> {
    let credentials: UpstreamCredentials | undefined = this.credentials;
    if (this.userTokens !== undefined && (owner !== undefined || actingFor !== undefined)) {
      // The session's identity is read at each renewal: a client that refreshed its token is current.
      credentials = new UserTokenCredentials(this.userTokens, () => owner?.identity ?? actingFor!);
    }
    await credentials?.ready();
    const endpoint = this.chooseEndpoint(avoid);
    // A pool's shared connection is one of its processes.
    if (this.pool !== undefined) return this.pool.processOn(endpoint);
    return this.openOn(endpoint, owner, credentials, forCall);
  }

  /** A new connection (for stdio: a new process) on `endpoint`. */
  protected override async openOn(endpoint: UpstreamEndpoint, owner: SessionOwner | undefined, credentials: UpstreamCredentials | undefined, forCall: boolean): Promise<UpstreamClient> {
    if (this.crashLoop.blocked) throw this.crashLoopError();
    const client = this.newClient(owner, endpoint, this.config.era, this.defaults.initializeTimeoutMs, credentials);
    try {
      await client.connect();
    } catch (error) {
      this.endpointFailed(endpoint, error instanceof Error ? error.message : String(error));
      // A connection made for a call that failed counts toward the endpoint's circuit like the call would.
      if (forCall && isServerFailure(error)) endpoint.breaker.failure();
      await client.close();
      // A process that could not start counts toward a crash loop.
      if (this.config.transport === 'stdio') this.noteCrash();
      throw error;
    }
    endpoint.reached();
    return client;
  }

  /**
   * The shared connection: with several endpoints, one after another until one answers (lists and
   * health must not depend on the replica that happened to be picked).
   */
  private async connectShared(): Promise<UpstreamClient> {
    for (let attempt = 1; ; attempt++) {
      try {
        // A failed endpoint is marked down, so the balancer tries the others next.
        return await this.connect(undefined);
      } catch (error) {
        if (!this.balanced || this.closed || attempt >= this.endpoints.length || this.endpoints.every((endpoint) => endpoint.down)) throw error;
      }
    }
  }

  /**
   * A connection to an endpoint failed under a request. With several endpoints the client is
   * dropped, so the session's next request re-establishes it on another replica (the router retries
   * what is safe at once); with one there is nowhere else, and the next request tries it again.
   */
  private readonly onConnectionFailed = (client: UpstreamClient, failure: UpstreamFailure): void => {
    this.endpointFailed(client.endpoint, failure.message);
    // A pool process whose pipe broke is dead: its exit handler restarts it.
    if (!this.balanced || client.isClosed || this.pool !== undefined) return;
    this.logger.info({ endpoint: client.endpoint.label, reason: failure.message }, 'endpoint failed; its session moves to another');
    this.forget(client);
    void client.close(failure.message);
  };

  /**
   * An endpoint could not be reached. The shared connection (lists, health) leaves it at once when
   * another endpoint may be up; client sessions on it move on their next request.
   */
  protected override endpointFailed(endpoint: UpstreamEndpoint, reason: string): void {
    endpoint.failed(reason);
    // A pool's shared connection is a process like the others: it is not closed for a failure elsewhere.
    if (!this.balanced || this.closed || this.pool !== undefined || this.endpoints.every((candidate) => candidate.down)) return;
    for (const client of [this.modernShared, this.shared]) {
      if (client === undefined || client.endpoint !== endpoint || client.isClosed) continue;
      this.forget(client);
      void client.close(`Server "${this.name}": ${reason}`);
    }
  }

  /** The shared connection left its endpoint: connect it to another now, and tell the router (lists may differ there). */
  protected override reconnectShared(): void {
    if (this.closed) return;
    this.sharedClient().then(
      () => this.handler.onSharedMoved?.(this.name),
      () => undefined,
    );
  }

  /** Drops a client from whichever place holds it. */
  private forget(client: UpstreamClient): void {
    if (client === this.shared) {
      this.shared = undefined;
      this.reconnectShared();
      return;
    }
    this.forgetOther(client);
  }

  /** Drops a client that is not the shared connection: the stateless one, a session's, or a user's. */
  private forgetOther(client: UpstreamClient): void {
    if (client === this.modernShared) {
      this.modernShared = undefined;
      return;
    }
    if (client.owner !== undefined) {
      const owner = client.owner as SessionOwner;
      if (this.ready.get(owner.id) === client) {
        this.perSession.delete(owner.id);
        this.ready.delete(owner.id);
      }
      return;
    }
    for (const [subject, userClient] of this.perUserReady) {
      if (userClient !== client) continue;
      this.perUserReady.delete(subject);
      this.perUser.delete(subject);
      return;
    }
  }

  /** Requests in flight on every connection of this server. */
  get inflightCount(): number {
    let count = (this.shared?.inflightCount ?? 0) + (this.modernShared?.inflightCount ?? 0);
    if (this.pool !== undefined) for (const client of this.pool.live()) if (client !== this.shared) count += client.inflightCount;
    for (const client of this.ready.values()) count += client.inflightCount;
    for (const client of this.perUserReady.values()) count += client.inflightCount;
    return count;
  }

  /**
   * Closes once the calls in flight have finished (or `drainTimeoutMs` passed): a server removed or
   * changed by a config change lets its running calls complete. The router no longer sends it new
   * ones, so the count only falls.
   */
  async retire(drainTimeoutMs: number): Promise<void> {
    const deadline = Date.now() + drainTimeoutMs;
    while (this.inflightCount > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS).unref());
    }
    await this.close();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.restartBackoff.cancel();
    clearTimeout(this.cooldownTimer);
    this.supervisor?.close();
    const clients = [...this.perSession.values(), ...this.perUser.values()];
    this.perSession.clear();
    this.ready.clear();
    this.perUser.clear();
    this.perUserReady.clear();
    const connecting = this.connecting?.catch(() => undefined);
    await Promise.allSettled([
      ...clients.map((client) => client.then((c) => c.close())),
      this.shared?.close(),
      this.modernShared?.close(),
      connecting?.then((c) => c?.close()),
      this.pool?.stop('The gateway is shutting down.'),
    ]);
    this.credentials?.close();
    await Promise.allSettled(this.endpoints.map((endpoint) => endpoint.pool?.close()));
  }
}

/**
 * Failures that say the server is unwell now: not that it refused (an open circuit, a crash loop's
 * cool-down, both of which fail calls before they are sent) or that the client gave up.
 */
export function isServerFailure(error: unknown): boolean {
  return (
    error instanceof GatehouseError &&
    (error.code === 'upstream_unavailable' || error.code === 'upstream_timeout') &&
    error.data?.['circuit'] === undefined &&
    error.data?.['crashLoop'] === undefined
  );
}

/** A call refused before it was sent: its server's circuit is open, or it is in a crash loop's cool-down. */
export function refusedUnsent(error: GatehouseError): boolean {
  return error.data?.['circuit'] === 'open' || error.data?.['crashLoop'] === true;
}
