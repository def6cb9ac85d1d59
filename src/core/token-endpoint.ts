import { request } from 'undici';

/** A client of an authorization server: a secret means client_secret_basic, none a public client. */
export interface OAuthClient {
  readonly clientId: string;
  readonly clientSecret?: string | undefined;
}

/** What a token endpoint answered, as far as the gateway reads it (RFC 6749 §5.1, §5.2). */
export interface TokenAnswer {
  readonly status: number;
  readonly accessToken: string | undefined;
  readonly refreshToken: string | undefined;
  /** Seconds, when the server said. */
  readonly expiresIn: number | undefined;
  readonly scope: string | undefined;
  /** The OAuth error code (`invalid_grant` …), never its description, which may quote a token. */
  readonly error: string | undefined;
}

/**
 * POSTs a grant to a token endpoint (client credentials, token exchange, authorization code,
 * refresh). Throws only when the endpoint cannot be reached or does not answer JSON; an OAuth
 * refusal is an answer with `error` set.
 */
export async function requestToken(tokenUrl: string, client: OAuthClient, fields: Readonly<Record<string, string>>, timeoutMs: number): Promise<TokenAnswer> {
  const form = new URLSearchParams(fields);
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (client.clientSecret !== undefined) {
    // RFC 6749 §2.3.1: client_secret_basic, with both parts form-encoded first.
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`).toString('base64')}`;
  } else {
    form.set('client_id', client.clientId);
  }
  const response = await request(tokenUrl, { method: 'POST', headers, body: form.toString(), headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const body = (await response.body.json()) as { access_token?: unknown; refresh_token?: unknown; expires_in?: unknown; scope?: unknown; error?: unknown };
  return {
    status: response.statusCode,
    accessToken: response.statusCode === 200 && typeof body.access_token === 'string' ? body.access_token : undefined,
    refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : undefined,
    expiresIn: typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : undefined,
    scope: typeof body.scope === 'string' ? body.scope : undefined,
    error: typeof body.error === 'string' ? body.error.slice(0, 60) : undefined,
  };
}
