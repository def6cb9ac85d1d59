import type { IncomingMessage, ServerResponse } from 'node:http';
import { GatehouseError, readBody, toGatehouseError } from '../core/index.js';
import type { ErrorBody } from './schemas.js';

/**
 * JSON in and out of the admin API. Its error shape is REST, not JSON-RPC, so it writes its own;
 * the size-limited body reader is core's, shared with the MCP frontends.
 */

/**
 * Reads a JSON body. Only `application/json` is accepted: browsers send that type cross-origin only
 * after a CORS preflight, which the gateway never grants, so a page elsewhere cannot post a form or a
 * "simple" request here even when the Origin check would let it through.
 */
export async function readJsonBody(request: IncomingMessage, maxBytes: number): Promise<unknown> {
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/json') {
    throw new GatehouseError('unsupported_media_type', `Send the body (even an empty one) as application/json; got "${mediaType.slice(0, 60) || 'none'}".`);
  }
  const text = (await readBody(request, maxBytes)).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new GatehouseError('parse_error', (error as Error).message.slice(0, 200));
  }
}


const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  // Admin answers carry the registry's state: never from a cache, never sniffed as HTML.
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (status === 204 || body === undefined) {
    response.writeHead(status, { 'cache-control': 'no-store', ...headers }).end();
    return;
  }
  response.writeHead(status, { ...JSON_HEADERS, ...headers }).end(`${JSON.stringify(body)}\n`);
}

/** `{ "error": { "code", "message", ...data } }` with the catalogue's HTTP status. */
export function sendError(response: ServerResponse, error: unknown, headers: Record<string, string> = {}): void {
  const failure = toGatehouseError(error);
  if (response.headersSent) {
    response.end();
    return;
  }
  const body: ErrorBody = { error: { ...failure.data, code: failure.code, message: failure.message } };
  // Past a body limit the rest of the body is not read, so the connection cannot carry another request.
  sendJson(response, failure.httpStatus, body, failure.code === 'body_too_large' ? { ...headers, connection: 'close' } : headers);
}
