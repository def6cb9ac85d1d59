import type { Identity } from '../core/index.js';
import type { UpstreamCredentials } from './client-credentials.js';

/** An access token for one user toward one server, and when it stops being good. */
export interface UserToken {
  readonly accessToken: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

/**
 * Where a server that acts as the user gets the user's token: RFC 8693 exchange of the caller's
 * token, or the user's stored OAuth connection. Implementations cache and renew; `fresh` asks for a
 * new token because the server refused the current one.
 */
export interface UserTokenSource {
  token(identity: Identity, fresh: boolean): Promise<UserToken>;
}

/** Renew a little before expiry, so a request never leaves with a token about to lapse. */
export const EXPIRY_MARGIN_MS = 30_000;

/**
 * The credentials of one downstream session's upstream connection to a server that acts as the user.
 * The identity is read when a token is needed, so a client that refreshed its own token mid-session
 * has the newer one exchanged.
 */
export class UserTokenCredentials implements UpstreamCredentials {
  private current: UserToken | undefined;
  private fetching: Promise<void> | undefined;

  constructor(
    private readonly source: UserTokenSource,
    private readonly identity: () => Identity,
  ) {}

  header(): string | undefined {
    const current = this.current;
    if (current === undefined) return undefined;
    // Nearly expired: renew in the background; a refusal of this request is retried with the new one.
    if (Date.now() > current.expiresAt - EXPIRY_MARGIN_MS) this.renew(false).catch(() => undefined);
    return `Bearer ${current.accessToken}`;
  }

  ready(): Promise<void> {
    const current = this.current;
    if (current !== undefined && Date.now() < current.expiresAt - EXPIRY_MARGIN_MS) return Promise.resolve();
    return this.renew(false);
  }

  refresh(): Promise<void> {
    return this.renew(true);
  }

  close(): void {
    this.current = undefined;
  }

  private renew(fresh: boolean): Promise<void> {
    this.fetching ??= this.source
      .token(this.identity(), fresh)
      .then((token) => {
        this.current = token;
      })
      .finally(() => (this.fetching = undefined));
    return this.fetching;
  }
}
