/**
 * Reserved names of the 2026-07-28 wire: `_meta` keys, HTTP headers and the MCP error codes.
 * Spec 2026-07-28 schema.ts (`RequestMetaObject`, `ResultMetaObject`, `NotificationMetaObject`,
 * error-code block) and basic/transports/streamable-http.mdx §Request Metadata.
 */
export const MetaKey = {
  /** Required on every modern request; on HTTP it must equal the MCP-Protocol-Version header. */
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  /** Required on every modern request; `{}` means no optional capabilities. Never inferred from earlier requests. */
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  /** SHOULD on every request (spec PR #3002 demoted it from MUST); display and logging only. */
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  /** Optional, deprecated (SEP-2577): replaces logging/setLevel; absent means no notifications/message. */
  logLevel: 'io.modelcontextprotocol/logLevel',
  /** In a result's `_meta`: servers SHOULD identify themselves on every response. */
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  /** On notifications delivered on a subscriptions/listen stream: the listen request's JSON-RPC id. */
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
} as const;

/** Header names as the spec writes them; compare case-insensitively (RFC 9110 §5.1). */
export const Header = {
  protocolVersion: 'MCP-Protocol-Version',
  method: 'Mcp-Method',
  name: 'Mcp-Name',
  /** Prefix of the SEP-2243 headers mirrored from tool arguments marked `x-mcp-header`. */
  paramPrefix: 'Mcp-Param-',
  /** Legacy only: the 2026-07-28 revision neither mints nor honours session ids. */
  sessionId: 'Mcp-Session-Id',
  /** Legacy only: stream resumption was removed in 2026-07-28. */
  lastEventId: 'Last-Event-ID',
} as const;

/** Spec 2026-07-28 schema.ts: `-32020..-32099` is reserved for codes the specification defines. */
export const ModernErrorCode = {
  headerMismatch: -32020,
  missingRequiredClientCapability: -32021,
  unsupportedProtocolVersion: -32022,
} as const;
