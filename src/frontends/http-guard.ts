import type { IncomingMessage } from 'node:http';
import { GatehouseError, readBody } from '../core/index.js';
import { exceedsDepth } from '../protocol/index.js';

const LOOPBACK_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export interface OriginPolicy {
  /** True when the gateway listens on a loopback address only. */
  loopbackOnly: boolean;
  allowedOrigins: readonly string[];
  allowedHosts: readonly string[];
}

export function isLoopbackAddress(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  const colon = hostHeader.lastIndexOf(':');
  return colon === -1 ? hostHeader : hostHeader.slice(0, colon);
}

/**
 * Spec 2025-11-25 §Transports, security: servers MUST validate Origin to stop DNS rebinding. A page on
 * evil.example resolving its name to 127.0.0.1 reaches us with Host: evil.example and Origin:
 * http://evil.example; both are refused unless allowed.
 */
export function checkOrigin(request: IncomingMessage, policy: OriginPolicy): void {
  const host = request.headers.host;
  if (host !== undefined && !policy.allowedHosts.includes(host)) {
    const hostname = hostnameOf(host).toLowerCase();
    if (policy.loopbackOnly ? !LOOPBACK_HOSTNAMES.has(hostname) : policy.allowedHosts.length > 0 && !policy.allowedHosts.includes(hostname)) {
      throw new GatehouseError('forbidden_origin', `Host "${host.slice(0, 100)}" is not allowed.`);
    }
  }
  const origin = request.headers.origin;
  if (origin === undefined || policy.allowedOrigins.includes('*') || policy.allowedOrigins.includes(origin)) return;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    throw new GatehouseError('forbidden_origin', 'The Origin header is malformed.');
  }
  if (!LOOPBACK_HOSTNAMES.has(parsed.hostname.toLowerCase())) {
    throw new GatehouseError('forbidden_origin', `Origin "${origin.slice(0, 100)}" is not allowed.`);
  }
}

/** Accept lists both JSON and SSE (spec §Sending messages); `*\/*` counts as both. */
export function acceptsJsonAndSse(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  if (accept.includes('*/*')) return true;
  return accept.includes('application/json') && accept.includes('text/event-stream');
}

export function acceptsSse(accept: string | undefined): boolean {
  return accept !== undefined && (accept.includes('text/event-stream') || accept.includes('*/*'));
}

export function isJsonContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase() === 'application/json';
}

/** Reads a JSON body within the size and nesting limits: `body_too_large`, `too_deep`, `parse_error`. */
export async function readJsonBody(request: IncomingMessage, limits: { maxBodyBytes: number; maxDepth: number }): Promise<unknown> {
  const body = await readBody(request, limits.maxBodyBytes);
  if (exceedsDepth(body, limits.maxDepth)) throw new GatehouseError('too_deep', `The limit is ${limits.maxDepth}.`);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new GatehouseError('parse_error');
  }
}
