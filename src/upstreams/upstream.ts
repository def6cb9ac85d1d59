import type { Pool } from 'undici';
import type { HttpServerConfig, ServerConfig, StdioServerConfig } from '../config/index.js';
import { GATEWAY_VERSION, GatehouseError, type Identity } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import type { Params } from '../protocol/index.js';
import { StreamableHttpTransport, createPool } from './http-transport.js';
import { SseTransport } from './sse-transport.js';
import { StdioTransport } from './stdio-transport.js';
import type { UpstreamTransport } from './transport.js';
import { UpstreamClient, type ServerIdentity, type ServerMessageHandler } from './upstream-client.js';
import { ClientCredentialsToken } from './client-credentials.js';

export interface UpstreamDefaults {
  requestTimeoutMs: number;
  listTimeoutMs: number;
  initializeTimeoutMs: number;
  restartBackoffMs: number;
}

/** The downstream side a per-session client acts for. */
export interface SessionOwner {
  readonly id: string;
  /** A 2026-07-28 request has no session: it is served on the shared upstream connection. */
  readonly stateless?: boolean;
  readonly clientCapabilities: Params;
  readonly clientInfo: Params;
  /** Who the session belongs to; forwarded as headers only to servers that opt in. */
  readonly identity?: Identity;
}

export type UpstreamState = 'starting' | 'ready' | 'down';

/** The caller's identity as headers: URL-encoded, so no value can break a header line. */
function identityHeaders(identity: Identity): Record<string, string> {
  const headers: Record<string, string> = { 'x-gatehouse-user': encodeURIComponent(identity.subject) };
  if (identity.name !== undefined) headers['x-gatehouse-user-name'] = encodeURIComponent(identity.name);
  if (identity.groups.length > 0) headers['x-gatehouse-groups'] = identity.groups.map(encodeURIComponent).join(',');
  if (identity.team !== undefined) headers['x-gatehouse-team'] = encodeURIComponent(identity.team);
  if (identity.roles.length > 0) headers['x-gatehouse-roles'] = identity.roles.map(encodeURIComponent).join(',');
  return headers;
}

/** How often a retiring server's in-flight count is checked; short against any call, cheap against the loop. */
const DRAIN_POLL_MS = 20;

export const GATEWAY_CLIENT_INFO: Params = { name: 'gatehouse', version: GATEWAY_VERSION };

/**
 * Everything the gateway may be asked to relay, declared toward servers the gateway shares between
 * clients; a server request is refused later if the client it is routed to lacks the capability.
 */
const SHARED_CLIENT_CAPABILITIES: Params = { roots: { listChanged: true }, sampling: {}, elicitation: {} };

const MAX_BACKOFF_MS = 30_000;
const PROBE_TIMEOUT_MS = 3_000;
/** The longest delay a Node timer takes (about 24.8 days). */
const LISTEN_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * One configured server: its shared connection (the stdio process, or the HTTP session the gateway
 * uses for lists and health), its per-client sessions, restarts with backoff, and its state.
 */
export class Upstream {
  state: UpstreamState = 'starting';
  lastError: string | undefined;
  readonly requestTimeoutMs: number;
  private shared: UpstreamClient | undefined;
  private connecting: Promise<UpstreamClient> | undefined;
  private readonly perSession = new Map<string, Promise<UpstreamClient>>();
  private readonly ready = new Map<string, UpstreamClient>();
  /** The stateless client for 2026-07-28 callers, when the server speaks both eras. */
  private modernShared: UpstreamClient | undefined;
  private readonly pool: Pool | undefined;
  private readonly credentials: ClientCredentialsToken | undefined;
  private backoffMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly logger: Logger;

  constructor(
    readonly name: string,
    readonly config: ServerConfig,
    private readonly handler: ServerMessageHandler,
    private readonly defaults: UpstreamDefaults,
    logger: Logger,
  ) {
    this.logger = logger.child({ server: name });
    this.requestTimeoutMs = config.requestTimeoutMs ?? defaults.requestTimeoutMs;
    this.backoffMs = defaults.restartBackoffMs;
    if (config.transport !== 'stdio') {
      this.pool = createPool(new URL(config.url).origin);
      if (config.oauth !== undefined) {
        this.credentials = new ClientCredentialsToken({
          ...config.oauth,
          resource: config.oauth.resource ?? config.url,
          timeoutMs: defaults.initializeTimeoutMs,
          logger: this.logger,
        });
      }
    }
  }

  get identity(): ServerIdentity | undefined {
    return this.shared?.identity;
  }

  /** Whether each downstream session gets its own upstream session (HTTP always; stdio when asked). */
  get isolatesSessions(): boolean {
    return this.config.transport !== 'stdio' || this.config.isolation === 'per-session';
  }

  /** The shared connection, connecting (once, however many callers wait) when there is none. */
  sharedClient(): Promise<UpstreamClient> {
    if (this.closed) return Promise.reject(new GatehouseError('shutting_down'));
    if (this.shared && !this.shared.isClosed) return Promise.resolve(this.shared);
    this.connecting ??= this.connect(undefined)
      .then((client) => {
        this.shared = client;
        this.state = 'ready';
        this.lastError = undefined;
        client.openEventStream();
        this.logger.info({ protocolVersion: client.identity?.protocolVersion, serverInfo: client.identity?.serverInfo }, 'upstream ready');
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
    if (this.modernShared || this.closed) return;
    // A short limit: a server that does not answer server/discover promptly is treated as session-only.
    const probe = this.newClient(undefined, 'modern', PROBE_TIMEOUT_MS);
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
    if (owner.stateless && this.modernShared && !this.modernShared.isClosed) return this.modernShared;
    const client = this.isolatesSessions && !owner.stateless ? this.ready.get(owner.id) : this.shared;
    return client && !client.isClosed ? client : undefined;
  }

  /** The client to use for a downstream session's calls. */
  clientFor(owner: SessionOwner): Promise<UpstreamClient> {
    // A 2026-07-28 caller gets the stateless client when the server speaks both eras (the probe runs
    // before sharedClient() resolves), as readyClientFor() would give it.
    if (owner.stateless) return this.sharedClient().then((client) => this.modernShared ?? client);
    if (!this.isolatesSessions) return this.sharedClient();
    const existing = this.perSession.get(owner.id);
    if (existing) return existing;
    const created = this.connect(owner).then((client) => {
      client.openEventStream();
      if (this.perSession.get(owner.id) === created) this.ready.set(owner.id, client);
      return client;
    });
    this.perSession.set(owner.id, created);
    created.catch(() => this.perSession.delete(owner.id));
    return created;
  }

  /** The downstream session ended: end its upstream session too. */
  releaseSession(ownerId: string): void {
    const client = this.perSession.get(ownerId);
    if (!client) return;
    this.perSession.delete(ownerId);
    this.ready.delete(ownerId);
    client.then((c) => c.close()).catch(() => undefined);
  }

  /** Called by the handler when a client's connection closed on its own. */
  clientClosed(client: UpstreamClient, reason: Error | undefined): void {
    if (client.owner !== undefined) {
      const owner = client.owner as SessionOwner;
      if (this.ready.get(owner.id) === client) {
        this.perSession.delete(owner.id);
        this.ready.delete(owner.id);
      }
      return;
    }
    if (client === this.modernShared) {
      this.modernShared = undefined;
      return;
    }
    if (client !== this.shared) return;
    this.shared = undefined;
    this.markDown(reason);
    if (this.config.transport === 'stdio') this.scheduleRestart();
  }

  private markDown(error: unknown): void {
    this.state = 'down';
    this.lastError = error instanceof Error ? error.message : error === undefined ? 'connection closed' : String(error);
    this.logger.warn({ reason: this.lastError }, 'upstream down');
  }

  /** Exponential backoff, so that a crash loop costs little and a healthy restart is quick. */
  private scheduleRestart(): void {
    if (this.closed || this.restartTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.logger.info({ delayMs: delay }, 'restarting upstream');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.sharedClient().then(
        () => {
          // Stable for a while: the next crash starts from the short delay again.
          setTimeout(() => {
            if (this.state === 'ready') this.backoffMs = this.defaults.restartBackoffMs;
          }, MAX_BACKOFF_MS).unref();
        },
        () => this.scheduleRestart(),
      );
    }, delay);
    this.restartTimer.unref();
  }

  private newClient(owner: SessionOwner | undefined, era = this.config.era, initializeTimeoutMs = this.defaults.initializeTimeoutMs): UpstreamClient {
    return new UpstreamClient({
      server: this.name,
      owner,
      createTransport: () => this.createTransport(owner),
      handler: this.handler,
      clientInfo: owner?.clientInfo ?? GATEWAY_CLIENT_INFO,
      clientCapabilities: owner?.clientCapabilities ?? SHARED_CLIENT_CAPABILITIES,
      initializeTimeoutMs,
      era,
    });
  }

  private async connect(owner: SessionOwner | undefined): Promise<UpstreamClient> {
    await this.credentials?.ready();
    const client = this.newClient(owner);
    try {
      await client.connect();
    } catch (error) {
      await client.close();
      throw error;
    }
    return client;
  }

  private createTransport(owner: SessionOwner | undefined): UpstreamTransport {
    const config = this.config;
    if (config.transport === 'stdio') return this.stdioTransport(config);
    return this.httpTransport(config, owner?.identity);
  }

  private stdioTransport(config: StdioServerConfig): UpstreamTransport {
    return new StdioTransport({ command: config.command, args: config.args, env: config.env, cwd: config.cwd, logger: this.logger });
  }

  private httpTransport(config: HttpServerConfig, identity: Identity | undefined): UpstreamTransport {
    // Spec 2025-11-25 §Authorization: no token passthrough. Only the configured headers, and the
    // caller's identity (never its credentials) where the server opted in.
    const headers = config.forwardIdentity && identity !== undefined && identity.kind !== 'anonymous' ? { ...config.headers, ...identityHeaders(identity) } : config.headers;
    const options = { url: new URL(config.url), headers, pool: this.pool!, logger: this.logger, credentials: this.credentials };
    if (config.transport === 'sse') return new SseTransport({ ...options, connectTimeoutMs: this.defaults.initializeTimeoutMs });
    return new StreamableHttpTransport(options);
  }

  /** Requests in flight on every connection of this server. */
  get inflightCount(): number {
    let count = (this.shared?.inflightCount ?? 0) + (this.modernShared?.inflightCount ?? 0);
    for (const client of this.ready.values()) count += client.inflightCount;
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
    clearTimeout(this.restartTimer);
    const clients = [...this.perSession.values()];
    this.perSession.clear();
    this.ready.clear();
    const connecting = this.connecting?.catch(() => undefined);
    await Promise.allSettled([
      ...clients.map((client) => client.then((c) => c.close())),
      this.shared?.close(),
      this.modernShared?.close(),
      connecting?.then((c) => c?.close()),
    ]);
    this.credentials?.close();
    await this.pool?.close().catch(() => undefined);
  }
}
