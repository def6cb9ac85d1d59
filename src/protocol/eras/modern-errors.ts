import { ModernErrorCode } from './wire-names.js';
import type { ClientCapabilities, RpcErrorBody } from './types.js';

/**
 * The error bodies the 2026-07-28 revision defines, as data plus the HTTP status the spec requires.
 * Spec 2026-07-28 schema.ts `UnsupportedProtocolVersionError`, `MissingRequiredClientCapabilityError`,
 * `HeaderMismatchError`: "For HTTP, the response status code MUST be `400 Bad Request`".
 */
export interface ModernError {
  readonly httpStatus: number;
  readonly error: RpcErrorBody;
}

/**
 * `requested` is left out when the request named no version at all, rather than invented — the
 * SDK does the same for envelope-less requests on a modern-only endpoint (server `modernOnlyStrictRejection`).
 * Spec basic/versioning.mdx: a modern-only server SHOULD name its versions in any error to `initialize`,
 * since legacy clients have no fall-forward and this message may be all the user sees.
 */
export function unsupportedProtocolVersion(supported: readonly string[], requested?: string): ModernError {
  return {
    httpStatus: 400,
    error: {
      code: ModernErrorCode.unsupportedProtocolVersion,
      message:
        requested === undefined
          ? `Unsupported protocol version: the request named none. Supported: ${supported.join(', ')}.`
          : `Unsupported protocol version ${requested}. Supported: ${supported.join(', ')}.`,
      data: requested === undefined ? { supported: [...supported] } : { supported: [...supported], requested },
    },
  };
}

/** `requiredCapabilities` is a ClientCapabilities object keyed by what is missing, not a list of names. */
export function missingRequiredClientCapability(requiredCapabilities: ClientCapabilities): ModernError {
  return {
    httpStatus: 400,
    error: {
      code: ModernErrorCode.missingRequiredClientCapability,
      message: `Missing required client capabilities: ${Object.keys(requiredCapabilities).join(', ')}. Declare them in _meta["io.modelcontextprotocol/clientCapabilities"].`,
      data: { requiredCapabilities },
    },
  };
}

export function headerMismatch(detail: string): ModernError {
  return { httpStatus: 400, error: { code: ModernErrorCode.headerMismatch, message: `Header mismatch: ${detail}` } };
}

/** Spec streamable-http.mdx §Protocol Version Header: an unknown method is `404` with `-32601` on the modern era. */
export function methodNotFoundOnModernEra(method: string): ModernError {
  return { httpStatus: 404, error: { code: -32601, message: `Method not found: ${method}` } };
}

/** Spec 2026-07-28 `_meta` rules: a malformed or missing envelope is `-32602`, answered `400` on HTTP. */
export function invalidEnvelope(detail: string, data?: unknown): ModernError {
  return {
    httpStatus: 400,
    error:
      data === undefined
        ? { code: -32602, message: `Invalid _meta envelope: ${detail}` }
        : { code: -32602, message: `Invalid _meta envelope: ${detail}`, data },
  };
}
