import { Buffer } from 'node:buffer';
import { headerMismatch } from './modern-errors.js';
import { Header } from './wire-names.js';
import { isJsonObject } from './types.js';
import type { ModernError } from './modern-errors.js';

/**
 * SEP-2243 request headers of the 2026-07-28 Streamable HTTP binding (streamable-http.mdx §Request
 * Metadata): body fields mirrored into headers so intermediaries can route without parsing JSON.
 */

/** §Standard Request Headers: `Mcp-Name` mirrors `params.name` or `params.uri` on these methods. */
const NAME_SOURCE: Readonly<Record<string, 'name' | 'uri'>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
};

const SENTINEL = /^=\?base64\?(.*)\?=$/s;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The body value `Mcp-Name` must carry for this request, if the method has one. */
export function nameHeaderSource(method: string, params: unknown): string | undefined {
  const field = NAME_SOURCE[method];
  if (field === undefined || !isJsonObject(params)) return undefined;
  const value = params[field];
  return typeof value === 'string' ? value : undefined;
}

/**
 * §Value Encoding: plain when every character is visible ASCII, space or tab with no surrounding
 * whitespace and the value does not itself look like the sentinel; otherwise `=?base64?…?=` of UTF-8.
 */
export function encodeHeaderValue(value: string): string {
  const plain = /^[\x20-\x7E\t]*$/.test(value) && value.trim() === value && !SENTINEL.test(value);
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}

/** The decoded value, or `undefined` for a sentinel whose payload is not Base64. */
export function decodeHeaderValue(value: string): string | undefined {
  const match = SENTINEL.exec(value);
  if (match === null) return value;
  const payload = match[1] ?? '';
  return BASE64.test(payload) && payload.length % 4 === 0 ? Buffer.from(payload, 'base64').toString('utf8') : undefined;
}

/** Headers for a modern request the gateway sends upstream over HTTP (`Mcp-Param-*` not included). */
export function standardHeadersFor(request: { readonly method: string; readonly params?: unknown }, protocolVersion: string): Record<string, string> {
  const name = nameHeaderSource(request.method, request.params);
  return {
    [Header.protocolVersion]: protocolVersion,
    [Header.method]: request.method,
    ...(name !== undefined && { [Header.name]: encodeHeaderValue(name) }),
  };
}

export interface StandardHeaderValues {
  readonly protocolVersion?: string;
  readonly method?: string;
  readonly name?: string;
}

/**
 * §Server Validation for a modern request POST: `MCP-Protocol-Version` and `Mcp-Method` are required,
 * `Mcp-Name` where the method has a name source; each must equal the body (after decoding).
 * Failures are 400 with -32020. Notification POSTs are exempt (the spec defines no header rules for them).
 */
export function checkStandardHeaders(
  request: { readonly method: string; readonly params?: unknown },
  protocolVersionInBody: string,
  headers: StandardHeaderValues,
): ModernError | undefined {
  if (headers.protocolVersion === undefined) return headerMismatch(`the required ${Header.protocolVersion} header is missing`);
  if (headers.protocolVersion.trim() !== protocolVersionInBody) {
    return headerMismatch(`${Header.protocolVersion} names ${headers.protocolVersion} but the body names ${protocolVersionInBody}`);
  }
  if (headers.method === undefined) return headerMismatch(`the required ${Header.method} header is missing`);
  if (headers.method.trim() !== request.method) {
    return headerMismatch(`${Header.method} names ${headers.method} but the body names ${request.method}`);
  }
  const expected = nameHeaderSource(request.method, request.params);
  if (expected === undefined) return undefined;
  if (headers.name === undefined) return headerMismatch(`the required ${Header.name} header is missing`);
  const decoded = decodeHeaderValue(headers.name.trim());
  if (decoded === undefined) return headerMismatch(`${Header.name} carries an invalid Base64 value`);
  return decoded === expected ? undefined : headerMismatch(`${Header.name} names "${decoded}" but the body names "${expected}"`);
}
