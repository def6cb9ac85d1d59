import { GatehouseError, requestToken, type TokenAnswer } from '../core/index.js';
import type { Logger } from '../observability/index.js';

export interface ClientCredentialsOptions {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly scope?: string | undefined;
  /** RFC 8707 resource indicator: the upstream the token is for. */
  readonly resource?: string | undefined;
  readonly timeoutMs: number;
  readonly logger: Logger;
}

/** What an HTTP transport needs of credentials the gateway holds for a server. */
export interface UpstreamCredentials {
  /** The Authorization header value to send now, once `ready()` resolved. */
  header(): string | undefined;
  /** Resolves when a valid token is at hand (fetching one when there is none or it expired). */
  ready(): Promise<void>;
  /** Fetches a new token now (the server answered 401 to the current one). */
  refresh(): Promise<void>;
  close(): void;
}

/** Renew when this share of a token's lifetime has passed, so requests never carry an expiring one. */
const RENEW_AT = 0.8;
/** A token that says nothing about its lifetime is renewed after this long. */
const DEFAULT_LIFETIME_S = 300;

/**
 * OAuth 2.1 client credentials (RFC 6749 §4.4) that the gateway obtains and refreshes itself for an
 * upstream: the server sees the gateway's token, never a client's (spec 2025-11-25: no token
 * passthrough). One fetch at a time however many sessions wait; renewed before it expires.
 */
export class ClientCredentialsToken implements UpstreamCredentials {
  private token: string | undefined;
  private expiresAt = 0;
  private fetching: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: ClientCredentialsOptions) {}

  header(): string | undefined {
    return this.token === undefined ? undefined : `Bearer ${this.token}`;
  }

  ready(): Promise<void> {
    if (this.token !== undefined && Date.now() < this.expiresAt) return Promise.resolve();
    return this.refresh();
  }

  refresh(): Promise<void> {
    this.fetching ??= this.fetchToken().finally(() => (this.fetching = undefined));
    return this.fetching;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private async fetchToken(): Promise<void> {
    const { tokenUrl, clientId, clientSecret, scope, resource, timeoutMs } = this.options;
    const fields: Record<string, string> = { grant_type: 'client_credentials' };
    if (scope !== undefined) fields.scope = scope;
    if (resource !== undefined) fields.resource = resource;
    let answer: TokenAnswer;
    try {
      answer = await requestToken(tokenUrl, { clientId, clientSecret }, fields, timeoutMs);
    } catch (error) {
      throw this.failure(`cannot reach it (${(error as Error).message})`);
    }
    if (answer.accessToken === undefined) throw this.failure(`HTTP ${answer.status}${answer.error !== undefined ? ` ${answer.error}` : ''}`);
    const lifetime = answer.expiresIn ?? DEFAULT_LIFETIME_S;
    this.token = answer.accessToken;
    this.expiresAt = Date.now() + lifetime * 1000;
    clearTimeout(this.timer);
    if (!this.closed) {
      this.timer = setTimeout(() => {
        this.refresh().catch((error: unknown) => this.options.logger.warn({ reason: (error as Error).message }, 'upstream token renewal failed'));
      }, lifetime * 1000 * RENEW_AT);
      this.timer.unref();
    }
  }

  private failure(reason: string): GatehouseError {
    // The token URL is configuration, not a secret; the client secret never appears in messages.
    return new GatehouseError('upstream_unavailable', `Could not obtain a token from ${this.options.tokenUrl}: ${reason}.`);
  }
}
