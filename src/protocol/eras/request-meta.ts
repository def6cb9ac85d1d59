import { MetaKey } from './wire-names.js';
import { LOGGING_LEVELS, isJsonObject } from './types.js';
import type { ClientCapabilities, Implementation, JsonObject, LoggingLevel } from './types.js';

/**
 * The per-request envelope of the 2026-07-28 revision: what `initialize` used to carry once per
 * session now travels in every request's `params._meta` (spec 2026-07-28 schema.ts `RequestMetaObject`,
 * changelog "Major changes" 2, SEP-2575).
 */
export interface RequestMeta {
  readonly protocolVersion: string;
  readonly clientCapabilities: ClientCapabilities;
  readonly clientInfo?: Implementation;
  readonly logLevel?: LoggingLevel;
}

export interface MetaIssue {
  readonly key: string;
  readonly problem: string;
}

/**
 * - `absent`: no protocol-version claim in `_meta` — legacy-era traffic (or a malformed modern client).
 * - `invalid`: a claim is present but the envelope is malformed — answer `-32602` (HTTP 400), never
 *   fall back to legacy handling (SDK inbound ladder, rung "envelope").
 * - `valid`: a well-formed envelope. The version may still be one we do not serve; check with `eraOf`.
 */
export type RequestMetaReading =
  | { readonly kind: 'absent' }
  | { readonly kind: 'invalid'; readonly issues: readonly MetaIssue[] }
  | { readonly kind: 'valid'; readonly meta: RequestMeta };

const ENVELOPE_KEYS: readonly string[] = [MetaKey.protocolVersion, MetaKey.clientCapabilities, MetaKey.clientInfo, MetaKey.logLevel];

/** The era claim the SDK classifies on: the protocol-version key is present at all, whatever its value. */
export function hasEnvelopeClaim(params: unknown): boolean {
  return isJsonObject(params) && isJsonObject(params._meta) && MetaKey.protocolVersion in params._meta;
}

export function readRequestMeta(params: unknown): RequestMetaReading {
  if (!hasEnvelopeClaim(params)) return { kind: 'absent' };
  const meta = (params as { _meta: JsonObject })._meta;
  const issues: MetaIssue[] = [];
  const protocolVersion = meta[MetaKey.protocolVersion];
  const clientCapabilities = meta[MetaKey.clientCapabilities];
  const clientInfo = meta[MetaKey.clientInfo];
  const logLevel = meta[MetaKey.logLevel];

  if (typeof protocolVersion !== 'string') issues.push({ key: MetaKey.protocolVersion, problem: 'must be a string' });
  if (clientCapabilities === undefined) issues.push({ key: MetaKey.clientCapabilities, problem: 'missing' });
  else if (!isJsonObject(clientCapabilities)) issues.push({ key: MetaKey.clientCapabilities, problem: 'must be an object' });
  // Spec PR #3002: clientInfo is a SHOULD; absent is fine, present-but-malformed is not.
  if (clientInfo !== undefined && !isImplementation(clientInfo)) {
    issues.push({ key: MetaKey.clientInfo, problem: 'must be an object with string name and version' });
  }
  if (logLevel !== undefined && !(LOGGING_LEVELS as readonly unknown[]).includes(logLevel)) {
    issues.push({ key: MetaKey.logLevel, problem: `must be one of ${LOGGING_LEVELS.join(', ')}` });
  }
  if (issues.length > 0) return { kind: 'invalid', issues };

  return {
    kind: 'valid',
    meta: {
      protocolVersion: protocolVersion as string,
      clientCapabilities: clientCapabilities as ClientCapabilities,
      ...(clientInfo !== undefined && { clientInfo: clientInfo as Implementation }),
      ...(logLevel !== undefined && { logLevel: logLevel as LoggingLevel }),
    },
  };
}

/** The envelope keys for an outbound modern request (the gateway acting as a modern client). */
export function buildRequestMeta(meta: RequestMeta): JsonObject {
  return {
    [MetaKey.protocolVersion]: meta.protocolVersion,
    [MetaKey.clientCapabilities]: meta.clientCapabilities,
    ...(meta.clientInfo !== undefined && { [MetaKey.clientInfo]: meta.clientInfo }),
    ...(meta.logLevel !== undefined && { [MetaKey.logLevel]: meta.logLevel }),
  };
}

/** `params` with the envelope merged into its `_meta`; other `_meta` keys (progressToken, traceparent) are kept. */
export function withRequestMeta(params: JsonObject | undefined, meta: RequestMeta): JsonObject {
  const existing = params !== undefined && isJsonObject(params._meta) ? params._meta : {};
  return { ...params, _meta: { ...existing, ...buildRequestMeta(meta) } };
}

/**
 * `params` without anything only the modern era understands: the envelope keys and the MRTR retry
 * fields (`inputResponses`, `requestState`). Forward this to a legacy upstream: a dual-era server
 * classifies a request by the envelope claim alone (SDK `classifyInboundRequest`), so a leftover claim
 * would pull a request made inside a legacy session onto the modern path.
 */
export function withoutModernFields(params: JsonObject | undefined): JsonObject | undefined {
  if (params === undefined) return undefined;
  const { inputResponses: _responses, requestState: _state, ...rest } = params;
  if (!isJsonObject(rest._meta)) return rest;
  const meta: JsonObject = {};
  for (const [key, value] of Object.entries(rest._meta)) if (!ENVELOPE_KEYS.includes(key)) meta[key] = value;
  if (Object.keys(meta).length > 0) return { ...rest, _meta: meta };
  const { _meta: _dropped, ...withoutMeta } = rest;
  return withoutMeta;
}

function isImplementation(value: unknown): value is Implementation {
  return isJsonObject(value) && typeof value.name === 'string' && typeof value.version === 'string';
}
