import { createHash, randomBytes } from 'node:crypto';
import { request } from 'undici';
import { GatehouseError, randomToken, requestToken, type Identity, type TokenAnswer } from '../core/index.js';
import type { SealedBox } from './sealed-box.js';
import type { UserAuthSpec } from './server-spec.js';
import type { OAuthFlowRecord, Store, UserConnectionRecord } from './store.js';

type UserOAuthSpec = Extract<UserAuthSpec, { mode: 'oauth' }>;

/** A server whose users connect their own accounts, as the registry holds it now. */
export interface OAuthServer {
  readonly url: string;
  readonly userAuth: UserOAuthSpec;
}

export interface UserConnectionsOptions {
  readonly store: Store;
  readonly box: SealedBox;
  /** The server's spec when it exists and uses per-user OAuth connections. */
  readonly serverOf: (name: string) => OAuthServer | undefined;
  /** The gateway's public base URL (auth.resource, else the listen URL), e.g. https://mcp.example.com. */
  readonly publicUrl: () => string;
  /** How long a user has to complete an authorization. */
  readonly flowTtlMs: number;
  readonly timeoutMs: number;
  readonly warn: (message: string, detail: Record<string, unknown>) => void;
  /** A user completed a connection (the gateway tells their sessions the elicitation is complete). */
  readonly onConnected?: (server: string, subject: string, elicitationId: string) => void;
  readonly now?: () => number;
}

/** The sealed contents of a connection row. */
interface TokenSet {
  readonly accessToken: string;
  readonly refreshToken?: string | undefined;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  readonly scope?: string | undefined;
}

/** The sealed contents of an authorization under way. */
interface FlowSecrets {
  readonly verifier: string;
  /** Set in the browser that pressed "Connect"; the redirect back must come with it. */
  readonly binding: string;
  readonly started: boolean;
  /** Who asked, as shown on the consent page. */
  readonly displayName: string;
}

/** What the start page shows before the user goes on to the provider. */
export interface FlowDescription {
  readonly server: string;
  readonly user: string;
}

interface Endpoints {
  readonly authorizationUrl: string;
  readonly tokenUrl: string;
}

/** A token that says nothing about its lifetime is refreshed after this long. */
const DEFAULT_LIFETIME_S = 3600;
const EXPIRY_MARGIN_MS = 30_000;
export const CALLBACK_PATH = '/oauth/callback';
export const START_PATH = '/oauth/start';

/**
 * Per-user OAuth connections toward servers that act as the user: the gateway runs the authorization
 * code flow with PKCE (RFC 7636) and RFC 8707 resource indicators, keeps each user's tokens sealed in
 * the store (AES-256-GCM, see sealed-box.ts), and refreshes them. Any replica may start a flow, receive
 * the redirect, or refresh: everything lives in the store.
 *
 * Against login CSRF (an attacker's authorization landing in a victim's account, or the reverse), a
 * flow is bound to the browser that confirmed it on the gateway's own start page by a cookie, and that
 * page names the account the connection will belong to.
 */
export class UserConnections {
  private readonly cache = new Map<string, TokenSet>();
  private readonly refreshing = new Map<string, Promise<TokenSet>>();
  private readonly endpoints = new Map<string, Promise<Endpoints>>();
  private readonly now: () => number;

  constructor(private readonly options: UserConnectionsOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Starts an authorization for `identity` toward `server`; the URL is the gateway's start page. */
  async begin(server: string, identity: Identity): Promise<{ state: string; url: string; expiresAt: string }> {
    this.oauthServer(server);
    const state = randomToken(24);
    const secrets: FlowSecrets = {
      verifier: randomBytes(32).toString('base64url'),
      binding: randomToken(24),
      started: false,
      displayName: identity.name ?? identity.subject,
    };
    const expiresAt = new Date(this.now() + this.options.flowTtlMs).toISOString();
    await this.options.store.putOAuthFlow({ state, server, subject: identity.subject, sealed: this.sealFlow(state, secrets), expiresAt });
    return { state, url: `${this.options.publicUrl()}${START_PATH}?state=${state}`, expiresAt };
  }

  /** The start page's contents; the flow stays usable. */
  async describe(state: string): Promise<FlowDescription> {
    const { flow, secrets } = await this.takeFlow(state);
    await this.options.store.putOAuthFlow(flow);
    if (secrets.started) throw new GatehouseError('oauth_flow_invalid', 'This authorization was already started in a browser.');
    return { server: flow.server, user: secrets.displayName };
  }

  /**
   * The user confirmed on the start page: binds the flow to this browser and returns where to send it
   * (the provider's authorization endpoint) and the cookie value that proves it was this browser.
   */
  async confirm(state: string): Promise<{ redirect: string; binding: string }> {
    const { flow, secrets } = await this.takeFlow(state);
    if (secrets.started) throw new GatehouseError('oauth_flow_invalid', 'This authorization was already started in a browser.');
    await this.options.store.putOAuthFlow({ ...flow, sealed: this.sealFlow(state, { ...secrets, started: true }) });
    const spec = this.oauthServer(flow.server);
    const endpoints = await this.endpointsOf(spec);
    const url = new URL(endpoints.authorizationUrl);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', spec.userAuth.clientId);
    url.searchParams.set('redirect_uri', this.redirectUri());
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', createHash('sha256').update(secrets.verifier).digest('base64url'));
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('resource', spec.userAuth.resource ?? spec.url);
    if (spec.userAuth.scope !== undefined) url.searchParams.set('scope', spec.userAuth.scope);
    return { redirect: url.toString(), binding: secrets.binding };
  }

  /** The provider sent the browser back: exchanges the code and stores the user's tokens. */
  async complete(state: string, code: string, binding: string | undefined): Promise<{ server: string; subject: string }> {
    const { flow, secrets } = await this.takeFlow(state);
    if (!secrets.started || binding !== secrets.binding) {
      throw new GatehouseError('oauth_flow_invalid', 'The authorization must be completed in the browser that started it on the gateway\'s page.');
    }
    const spec = this.oauthServer(flow.server);
    const tokens = await this.tokenRequest(flow.server, spec, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: this.redirectUri(),
      code_verifier: secrets.verifier,
      resource: spec.userAuth.resource ?? spec.url,
    });
    await this.save(flow.server, flow.subject, tokens);
    this.options.onConnected?.(flow.server, flow.subject, state);
    return { server: flow.server, subject: flow.subject };
  }

  /** Ends a flow the provider reported as failed (the user declined), so its link cannot be reused. */
  async abandon(state: string): Promise<void> {
    await this.options.store.takeOAuthFlow(state, new Date(this.now()).toISOString());
  }

  /**
   * The user's access token for `server`, refreshed when it expired (or `fresh`: the server refused it).
   * No connection, or one that cannot be refreshed: `connection_required` with a URL to connect.
   */
  async token(server: string, identity: Identity, fresh: boolean): Promise<{ accessToken: string; expiresAt: number }> {
    const key = cacheKey(server, identity.subject);
    let tokens = this.cache.get(key);
    if (tokens === undefined || fresh) {
      const record = await this.options.store.getUserConnection(server, identity.subject);
      tokens = record === undefined ? undefined : this.openTokens(record);
      // Another replica may have refreshed since this one cached: a stored token newer than the refused one is worth a try.
      if (fresh && tokens !== undefined && tokens.accessToken !== this.cache.get(key)?.accessToken && this.valid(tokens)) fresh = false;
    }
    if (tokens === undefined) throw await this.connectionRequired(server, identity);
    if (!fresh && this.valid(tokens)) {
      this.cache.set(key, tokens);
      return tokens;
    }
    return this.refresh(server, identity, tokens);
  }

  /** The caller's connections, by server. */
  list(subject: string): Promise<UserConnectionRecord[]> {
    return this.options.store.listUserConnections(subject);
  }

  async remove(server: string, subject: string): Promise<void> {
    this.cache.delete(cacheKey(server, subject));
    if (!(await this.options.store.deleteUserConnection(server, subject))) throw new GatehouseError('connection_not_found', undefined, { server });
  }

  private valid(tokens: TokenSet): boolean {
    return this.now() < tokens.expiresAt - EXPIRY_MARGIN_MS;
  }

  private refresh(server: string, identity: Identity, tokens: TokenSet): Promise<TokenSet> {
    const key = cacheKey(server, identity.subject);
    let pending = this.refreshing.get(key);
    if (pending === undefined) {
      pending = this.doRefresh(server, identity, tokens).finally(() => this.refreshing.delete(key));
      this.refreshing.set(key, pending);
    }
    return pending;
  }

  private async doRefresh(server: string, identity: Identity, tokens: TokenSet): Promise<TokenSet> {
    const key = cacheKey(server, identity.subject);
    this.cache.delete(key);
    const spec = this.oauthServer(server);
    if (tokens.refreshToken === undefined) {
      await this.options.store.deleteUserConnection(server, identity.subject);
      throw await this.connectionRequired(server, identity);
    }
    let renewed: TokenSet;
    try {
      renewed = await this.tokenRequest(server, spec, {
        grant_type: 'refresh_token',
        refresh_token: tokens.refreshToken,
        resource: spec.userAuth.resource ?? spec.url,
      });
    } catch (error) {
      if (!(error instanceof GatehouseError && error.data?.['grant'] === 'invalid_grant')) throw error;
      // Revoked at the provider, or already used by another replica (refresh token rotation): a stored
      // set newer than ours is the other replica's; otherwise the user connects again.
      const record = await this.options.store.getUserConnection(server, identity.subject);
      const stored = record === undefined ? undefined : this.openTokens(record);
      if (stored !== undefined && stored.refreshToken !== tokens.refreshToken && this.valid(stored)) return stored;
      await this.options.store.deleteUserConnection(server, identity.subject);
      throw await this.connectionRequired(server, identity);
    }
    // A provider that does not rotate refresh tokens sends none back: the old one stays good.
    const saved = { ...renewed, refreshToken: renewed.refreshToken ?? tokens.refreshToken };
    await this.save(server, identity.subject, saved);
    return saved;
  }

  private async save(server: string, subject: string, tokens: TokenSet): Promise<void> {
    await this.options.store.putUserConnection({ server, subject, sealed: this.options.box.seal(JSON.stringify(tokens), cacheKey(server, subject)) });
    this.cache.set(cacheKey(server, subject), tokens);
  }

  private openTokens(record: UserConnectionRecord): TokenSet {
    return JSON.parse(this.options.box.open(record.sealed, cacheKey(record.server, record.subject))) as TokenSet;
  }

  private async connectionRequired(server: string, identity: Identity): Promise<GatehouseError> {
    const flow = await this.begin(server, identity);
    const message = `Server "${server}" acts as you: open ${flow.url} to connect your account, then call again.`;
    return new GatehouseError('connection_required', message, {
      server,
      elicitations: [{ mode: 'url', elicitationId: flow.state, url: flow.url, message: `Connect your account for "${server}" to Gatehouse.` }],
    });
  }

  private async takeFlow(state: string): Promise<{ flow: OAuthFlowRecord; secrets: FlowSecrets }> {
    const flow = await this.options.store.takeOAuthFlow(state, new Date(this.now()).toISOString());
    if (flow === undefined) throw new GatehouseError('oauth_flow_invalid');
    return { flow, secrets: JSON.parse(this.options.box.open(flow.sealed, `flow:${state}`)) as FlowSecrets };
  }

  private sealFlow(state: string, secrets: FlowSecrets): string {
    return this.options.box.seal(JSON.stringify(secrets), `flow:${state}`);
  }

  private oauthServer(server: string): OAuthServer {
    const spec = this.options.serverOf(server);
    if (spec === undefined) throw new GatehouseError('server_not_found', `No server "${server.slice(0, 100)}" that users connect to with OAuth.`);
    return spec;
  }

  private redirectUri(): string {
    return `${this.options.publicUrl()}${CALLBACK_PATH}`;
  }

  private async tokenRequest(server: string, spec: OAuthServer, fields: Record<string, string>): Promise<TokenSet> {
    const { tokenUrl } = await this.endpointsOf(spec);
    let answer: TokenAnswer;
    try {
      answer = await requestToken(tokenUrl, spec.userAuth, fields, this.options.timeoutMs);
    } catch (error) {
      throw new GatehouseError('user_token_unavailable', `Cannot reach ${tokenUrl} for server "${server}": ${(error as Error).message}.`, { server });
    }
    if (answer.accessToken === undefined) {
      this.options.warn('OAuth token request refused', { server, status: answer.status, error: answer.error, grantType: fields.grant_type });
      throw new GatehouseError('user_token_unavailable', `The authorization server refused the ${fields.grant_type} request for "${server}" (${answer.error ?? `HTTP ${answer.status}`}).`, {
        server,
        ...(answer.error !== undefined ? { grant: answer.error } : {}),
      });
    }
    return {
      accessToken: answer.accessToken,
      refreshToken: answer.refreshToken,
      expiresAt: this.now() + (answer.expiresIn ?? DEFAULT_LIFETIME_S) * 1000,
      scope: answer.scope,
    };
  }

  /** Explicit endpoints, else RFC 8414 metadata, else OpenID discovery; fetched once per issuer. */
  private endpointsOf(spec: OAuthServer): Promise<Endpoints> {
    const { issuer, authorizationUrl, tokenUrl } = spec.userAuth;
    if (authorizationUrl !== undefined && tokenUrl !== undefined) return Promise.resolve({ authorizationUrl, tokenUrl });
    const key = issuer!;
    let found = this.endpoints.get(key);
    if (found === undefined) {
      found = this.discover(key).then((discovered) => ({
        authorizationUrl: authorizationUrl ?? discovered.authorizationUrl,
        tokenUrl: tokenUrl ?? discovered.tokenUrl,
      }));
      found.catch(() => this.endpoints.delete(key));
      this.endpoints.set(key, found);
    }
    return found;
  }

  private async discover(issuer: string): Promise<Endpoints> {
    const url = new URL(issuer);
    const path = url.pathname.replace(/\/+$/, '');
    // RFC 8414 §3.1 puts the well-known segment before the issuer's path; OpenID discovery appends it.
    const candidates = [`${url.origin}/.well-known/oauth-authorization-server${path}`, `${url.origin}${path}/.well-known/openid-configuration`];
    for (const candidate of candidates) {
      try {
        const response = await request(candidate, { headersTimeout: this.options.timeoutMs, bodyTimeout: this.options.timeoutMs });
        const body = (await response.body.json().catch(() => undefined)) as { authorization_endpoint?: unknown; token_endpoint?: unknown } | undefined;
        if (response.statusCode === 200 && typeof body?.authorization_endpoint === 'string' && typeof body.token_endpoint === 'string') {
          return { authorizationUrl: body.authorization_endpoint, tokenUrl: body.token_endpoint };
        }
      } catch {
        // try the next form
      }
    }
    throw new GatehouseError('user_token_unavailable', `No authorization server metadata at ${issuer} (tried RFC 8414 and OpenID discovery).`);
  }
}

function cacheKey(server: string, subject: string): string {
  return `${server}\n${subject}`;
}
