import { GatehouseError, presentedToken, requestToken, type Identity, type TokenAnswer } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import { EXPIRY_MARGIN_MS, type UserToken, type UserTokenSource } from './user-credentials.js';

export interface TokenExchangeOptions {
  readonly server: string;
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly audience?: string | undefined;
  /** RFC 8707 resource: the upstream the new token is for. */
  readonly resource: string;
  readonly scope?: string | undefined;
  readonly timeoutMs: number;
  readonly logger: Logger;
}

const GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** A token that says nothing about its lifetime is exchanged again after this long. */
const DEFAULT_LIFETIME_S = 300;
/** Cached exchanged tokens per server; past this, the oldest go (a new exchange is cheap). */
const MAX_CACHED = 10_000;

/**
 * RFC 8693 token exchange: the caller's access token (subject_token) is traded at its issuer for a
 * token meant for one upstream, issued to the gateway (the actor) on the user's behalf. The caller's
 * token itself never leaves toward the upstream. Tokens are cached per caller token and renewed when
 * they expire or the server refuses them.
 */
export class TokenExchange implements UserTokenSource {
  /** By the subject token: a client's newer token gets its own exchange. */
  private readonly cache = new Map<string, UserToken>();
  private readonly pending = new Map<string, Promise<UserToken>>();

  constructor(private readonly options: TokenExchangeOptions) {}

  token(identity: Identity, fresh: boolean): Promise<UserToken> {
    const subjectToken = presentedToken(identity);
    if (subjectToken === undefined || identity.kind !== 'jwt') {
      return Promise.reject(
        new GatehouseError(
          'user_token_unavailable',
          `Server "${this.options.server}" acts as the calling user through token exchange: call with an OAuth access token from your identity provider, not ${identity.kind === 'api-key' ? 'an API key' : 'anonymously'}.`,
          { server: this.options.server },
        ),
      );
    }
    const cached = this.cache.get(subjectToken);
    if (!fresh && cached !== undefined && Date.now() < cached.expiresAt - EXPIRY_MARGIN_MS) return Promise.resolve(cached);
    let exchange = this.pending.get(subjectToken);
    if (exchange === undefined) {
      exchange = this.exchange(subjectToken).finally(() => this.pending.delete(subjectToken));
      this.pending.set(subjectToken, exchange);
    }
    return exchange;
  }

  private async exchange(subjectToken: string): Promise<UserToken> {
    const { tokenUrl, clientId, clientSecret, audience, resource, scope, timeoutMs } = this.options;
    const fields: Record<string, string> = {
      grant_type: GRANT_TYPE,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      requested_token_type: ACCESS_TOKEN_TYPE,
      resource,
    };
    if (audience !== undefined) fields.audience = audience;
    if (scope !== undefined) fields.scope = scope;
    let answer: TokenAnswer;
    try {
      answer = await requestToken(tokenUrl, { clientId, clientSecret }, fields, timeoutMs);
    } catch (error) {
      throw this.failure(`cannot reach ${tokenUrl} (${(error as Error).message})`);
    }
    if (answer.accessToken === undefined) {
      const reason = answer.error ?? `HTTP ${answer.status}`;
      this.options.logger.warn({ status: answer.status, reason }, 'token exchange refused');
      throw this.failure(`the issuer refused the exchange (${reason})`);
    }
    const token = { accessToken: answer.accessToken, expiresAt: Date.now() + (answer.expiresIn ?? DEFAULT_LIFETIME_S) * 1000 };
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(subjectToken, token);
    return token;
  }

  private failure(reason: string): GatehouseError {
    return new GatehouseError('user_token_unavailable', `No token for server "${this.options.server}" on your behalf: ${reason}.`, {
      server: this.options.server,
    });
  }
}
