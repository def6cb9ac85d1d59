/**
 * Protocol eras: the session-based revisions (2024-11-05 … 2025-11-25) and the stateless 2026-07-28
 * revision, and the pure translations between them. Wire facts and sources: docs/protocol-eras.md.
 */
export { INPUT_REQUEST_METHODS, LOGGING_LEVELS, isJsonObject } from './types.js';
export type {
  ClientCapabilities,
  ClientToServerResponse,
  Implementation,
  InputRequest,
  InputRequestMethod,
  InputRequests,
  InputRequiredResult,
  InputResponses,
  JsonObject,
  JsonRpcId,
  LoggingLevel,
  ProtocolEra,
  RpcErrorBody,
  ServerCapabilities,
  ServerToClientRequest,
} from './types.js';

export {
  FIRST_MODERN_REVISION,
  LEGACY_REVISIONS,
  MODERN_REVISIONS,
  SUPPORTED_REVISIONS,
  eraOf,
  isKnownRevision,
  isLegacyRevision,
  isModernRevision,
  preferredRevision,
} from './revisions.js';
export type { LegacyRevision, ModernRevision, SupportedRevision } from './revisions.js';

export { Header, MetaKey, ModernErrorCode } from './wire-names.js';
export {
  headerMismatch,
  invalidEnvelope,
  methodNotFoundOnModernEra,
  missingRequiredClientCapability,
  unsupportedProtocolVersion,
} from './modern-errors.js';
export type { ModernError } from './modern-errors.js';

export { buildRequestMeta, hasEnvelopeClaim, readRequestMeta, withRequestMeta, withoutModernFields } from './request-meta.js';
export type { MetaIssue, RequestMeta, RequestMetaReading } from './request-meta.js';

export { DISCOVER_METHOD, buildDiscoverRequest, buildDiscoverResult, readDiscoverResult } from './discover.js';
export type { CacheScope, DiscoverResult, DiscoverResultOptions, DiscoveredServer } from './discover.js';

export { classifyProbe } from './era-probe.js';
export type { ProbeContext, ProbeOutcome, ProbeVerdict } from './era-probe.js';

export { classifyInbound } from './inbound-era.js';
export type { InboundEra, InboundMessage, LegacyReason } from './inbound-era.js';

export { checkStandardHeaders, decodeHeaderValue, encodeHeaderValue, nameHeaderSource, standardHeadersFor } from './standard-headers.js';
export type { StandardHeaderValues } from './standard-headers.js';

export {
  INPUT_REQUIRED_METHODS,
  canReturnInputRequired,
  inputRequiredResult,
  isInputRequestMethod,
  isInputRequiredResult,
  missingCapabilities,
  readInputRequired,
  requiredCapabilitiesFor,
  resultTypeOf,
} from './input-required.js';
export type { InputRequiredReading } from './input-required.js';

export { inputKeyFor, inputResponsesToServerResponses, serverRequestsToInputRequests } from './legacy-server-bridge.js';
export type { ServerRequestsTranslation, UpstreamResponsesTranslation } from './legacy-server-bridge.js';

export { clientResponsesToRetryParams, inputRequiredToServerRequests } from './legacy-client-bridge.js';
export type {
  InputRequiredTranslation,
  LegacyClientContext,
  PlannedServerRequest,
  RefusedInputRequest,
  RetryParamsTranslation,
} from './legacy-client-bridge.js';

export { CACHEABLE_METHODS, toLegacyResult, toModernErrorCode, toModernResult } from './result-shape.js';
export type { ModernResultOptions } from './result-shape.js';
export { checkParamHeaders, paramHeadersFor } from './param-headers.js';
