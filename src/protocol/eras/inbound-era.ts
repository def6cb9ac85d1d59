import { eraOf } from './revisions.js';
import { hasEnvelopeClaim, readRequestMeta } from './request-meta.js';
import { MetaKey } from './wire-names.js';
import { headerMismatch, invalidEnvelope } from './modern-errors.js';
import { isJsonObject } from './types.js';
import type { ModernError } from './modern-errors.js';

/**
 * How a dual-era server (the gateway's frontends) tells the eras apart, message by message. The body
 * decides and the `MCP-Protocol-Version` header only cross-checks, so a proxy that strips headers
 * cannot change the era. Mirrors the SDK's `classifyInboundRequest` (server `inboundClassification.ts`)
 * and spec basic/versioning.mdx: "A request carrying modern per-request `_meta` is served statelessly
 * … An `initialize` request selects legacy semantics".
 */

export interface InboundMessage {
  /** Absent on stdio. */
  readonly httpMethod?: string;
  readonly protocolVersionHeader?: string;
  readonly methodHeader?: string;
  readonly body: unknown;
}

export type LegacyReason = 'http-method' | 'batch' | 'response' | 'initialize' | 'no-claim' | 'notification';

/**
 * `modern.revision` is whatever the message claims; the caller answers UnsupportedProtocolVersion
 * when it is not one we serve (including a claim naming a legacy revision). `legacy.requestedVersion`
 * is the version the message named, for a modern-only endpoint's -32022 answer.
 */
export type InboundEra =
  | { readonly era: 'modern'; readonly kind: 'request' | 'notification'; readonly revision: string }
  | { readonly era: 'legacy'; readonly reason: LegacyReason; readonly requestedVersion?: string }
  | { readonly era: 'rejected'; readonly rejection: ModernError };

export function classifyInbound(message: InboundMessage): InboundEra {
  const header = message.protocolVersionHeader?.trim();
  const headerIsModern = eraOf(header) === 'modern';
  // 2026-07-28 is POST-only: GET (standalone SSE) and DELETE (session end) are legacy session operations.
  if (message.httpMethod !== undefined && message.httpMethod.toUpperCase() !== 'POST') return { era: 'legacy', reason: 'http-method' };

  const body = message.body;
  if (Array.isArray(body)) {
    if (body.length === 0) return rejected(-32600, 'Bad Request: empty JSON-RPC batch');
    if (body.some((element) => isJsonObject(element) && hasEnvelopeClaim(element.params))) {
      return rejected(-32600, 'Bad Request: JSON-RPC batches may not contain requests for protocol revision 2026-07-28 or later');
    }
    return { era: 'legacy', reason: 'batch' };
  }
  if (!isJsonObject(body) || body.jsonrpc !== '2.0') return rejected(-32600, 'Bad Request: the body is not a JSON-RPC message');
  if (typeof body.method !== 'string') {
    if ('result' in body || 'error' in body) return { era: 'legacy', reason: 'response' };
    return rejected(-32600, 'Bad Request: the body is not a JSON-RPC message');
  }
  const method = body.method;
  const isRequest = 'id' in body;
  const reading = readRequestMeta(body.params);

  const validModernClaim = reading.kind === 'valid' && eraOf(reading.meta.protocolVersion) === 'modern';
  if (isRequest && method === 'initialize' && !validModernClaim) {
    // A valid modern claim wins over the method name; the modern era then answers -32601 for initialize.
    if (headerIsModern) {
      return { era: 'rejected', rejection: headerMismatch('an initialize request was sent with a modern MCP-Protocol-Version header') };
    }
    const requested = isJsonObject(body.params) ? body.params.protocolVersion : undefined;
    return typeof requested === 'string'
      ? { era: 'legacy', reason: 'initialize', requestedVersion: requested }
      : { era: 'legacy', reason: 'initialize' };
  }

  if (reading.kind === 'absent') {
    if (headerIsModern && isRequest) {
      const detail = `MCP-Protocol-Version names ${header} but params._meta lacks ${MetaKey.protocolVersion}`;
      return { era: 'rejected', rejection: invalidEnvelope(detail) };
    }
    if (headerIsModern) return { era: 'modern', kind: 'notification', revision: header as string };
    const reason: LegacyReason = isRequest ? 'no-claim' : 'notification';
    return header === undefined ? { era: 'legacy', reason } : { era: 'legacy', reason, requestedVersion: header };
  }

  // Notifications carry no capabilities; only the version claim itself has to be well-formed.
  const meta = isJsonObject(body.params) && isJsonObject(body.params._meta) ? body.params._meta : {};
  const claimed = meta[MetaKey.protocolVersion];
  if (reading.kind === 'invalid' && (isRequest || typeof claimed !== 'string')) {
    const first = reading.issues[0];
    const detail = first === undefined ? 'malformed' : `${first.key}: ${first.problem}`;
    return { era: 'rejected', rejection: invalidEnvelope(detail, { issues: reading.issues }) };
  }
  const revision = claimed as string;
  if (header !== undefined && header !== revision) {
    return { era: 'rejected', rejection: headerMismatch(`MCP-Protocol-Version names ${header} but the body names ${revision}`) };
  }
  const methodHeader = message.methodHeader?.trim();
  if (methodHeader !== undefined && methodHeader !== method) {
    return { era: 'rejected', rejection: headerMismatch(`Mcp-Method names ${methodHeader} but the body names ${method}`) };
  }
  return { era: 'modern', kind: isRequest ? 'request' : 'notification', revision };
}

function rejected(code: number, message: string): InboundEra {
  return { era: 'rejected', rejection: { httpStatus: 400, error: { code, message } } };
}
