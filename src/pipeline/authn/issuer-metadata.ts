import { request } from 'undici';

/** What the resource server needs from an authorization server's metadata document. */
export interface IssuerMetadata {
  readonly issuer: string;
  readonly jwksUri: string;
}

/** Why discovery failed; the verifier turns it into a refusal without details a client could misuse. */
export class IssuerMetadataError extends Error {
  constructor(
    readonly failure: 'unreachable' | 'issuer_mismatch' | 'invalid',
    message: string,
  ) {
    super(message);
    this.name = 'IssuerMetadataError';
  }
}

/** A metadata document is a few KiB; a larger answer is not one, and is not read into memory. */
const MAX_METADATA_BYTES = 256 * 1024;

/**
 * Where an issuer's metadata may be, in the order tried. The MCP authorization spec (2025-11-25,
 * §Authorization Server Metadata Discovery) lists the same places:
 * - OpenID Connect Discovery 1.0 §4: the issuer with `/.well-known/openid-configuration` appended;
 * - RFC 8414 §3.1: `/.well-known/oauth-authorization-server` inserted between host and path;
 * - OIDC discovery inserted the same way, which some providers with a path in their issuer serve.
 */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  const urls = [
    `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`,
    `${url.origin}/.well-known/oauth-authorization-server${path}`,
    `${url.origin}/.well-known/openid-configuration${path}`,
  ];
  return [...new Set(urls)];
}

async function fetchJson(url: string, timeoutMs: number): Promise<unknown> {
  const response = await request(url, {
    method: 'GET',
    headers: { accept: 'application/json' },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (response.statusCode !== 200) {
    await response.body.dump();
    throw new IssuerMetadataError('unreachable', `${url} answered HTTP ${response.statusCode}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_METADATA_BYTES) {
      response.body.destroy();
      throw new IssuerMetadataError('invalid', `${url} answered with more than ${MAX_METADATA_BYTES} bytes`);
    }
    chunks.push(buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new IssuerMetadataError('invalid', `${url} did not answer with JSON`);
  }
}

function parseMetadata(document: unknown, issuer: string, url: string): IssuerMetadata {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new IssuerMetadataError('invalid', `${url} is not a metadata document`);
  }
  const fields = document as Record<string, unknown>;
  // RFC 8414 §3.3 and OIDC Discovery §4.3: the document's `issuer` MUST be identical to the issuer
  // it was fetched for; otherwise an attacker who can serve one document could make us trust another
  // server's keys for this issuer's tokens (the mix-up attack).
  if (fields['issuer'] !== issuer) {
    throw new IssuerMetadataError('issuer_mismatch', `${url} names issuer ${JSON.stringify(fields['issuer'])}, not ${issuer}`);
  }
  const jwksUri = fields['jwks_uri'];
  if (typeof jwksUri !== 'string' || !URL.canParse(jwksUri) || !/^https?:$/.test(new URL(jwksUri).protocol)) {
    throw new IssuerMetadataError('invalid', `${url} has no usable jwks_uri`);
  }
  return { issuer, jwksUri };
}

/**
 * Fetches an issuer's metadata from the first place that has it. An issuer mismatch stops the
 * search at once: a document that names another issuer is an error to report, not a miss to skip.
 */
export async function discoverIssuerMetadata(issuer: string, timeoutMs: number): Promise<IssuerMetadata> {
  const misses: string[] = [];
  for (const url of metadataUrls(issuer)) {
    let document: unknown;
    try {
      document = await fetchJson(url, timeoutMs);
    } catch (error) {
      misses.push(error instanceof Error ? error.message : String(error));
      continue;
    }
    return parseMetadata(document, issuer, url);
  }
  throw new IssuerMetadataError('unreachable', `no metadata for ${issuer}: ${misses.join('; ')}`);
}
