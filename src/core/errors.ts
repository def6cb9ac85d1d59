/**
 * The closed error catalogue (CONVENTIONS rule 6). Every failure Gatehouse reports to a client or an
 * operator is one of these codes; the wire mapping (HTTP status, JSON-RPC code) lives here and only here.
 */

/** JSON-RPC 2.0 reserved codes, plus the MCP codes the spec assigns. */
export const RpcCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** MCP: resource not found (spec 2025-06-18 §Resources, error handling). */
  resourceNotFound: -32002,
  /** MCP 2026-07-28: a standard or Mcp-Param-* header disagrees with the body. */
  headerMismatch: -32020,
  /** MCP 2025-11-25: the request needs the user to complete a URL elicitation first (e.g. an OAuth connection). */
  urlElicitationRequired: -32042,
  /** Implementation-defined server errors live in -32000..-32099. */
  serverError: -32000,
  requestTimeout: -32001,
  /** Gatehouse: a rate limit, quota or concurrency limit refused the call (29 as in HTTP 429). */
  limitExceeded: -32029,
} as const;

interface CatalogueEntry {
  readonly httpStatus: number;
  readonly rpcCode: number;
  readonly message: string;
}

const catalogue = {
  parse_error: { httpStatus: 400, rpcCode: RpcCode.parseError, message: 'The request body is not valid JSON.' },
  invalid_request: {
    httpStatus: 400,
    rpcCode: RpcCode.invalidRequest,
    message: 'The message is not a valid JSON-RPC 2.0 request, notification or response.',
  },
  batch_not_supported: {
    httpStatus: 400,
    rpcCode: RpcCode.invalidRequest,
    message: 'JSON-RPC batches are not supported by the negotiated protocol revision; send one message per request.',
  },
  method_not_found: { httpStatus: 200, rpcCode: RpcCode.methodNotFound, message: 'Method not found.' },
  invalid_params: { httpStatus: 200, rpcCode: RpcCode.invalidParams, message: 'Invalid params.' },
  tool_not_found: {
    httpStatus: 200,
    rpcCode: RpcCode.invalidParams,
    message: 'Unknown tool. Call tools/list to see the tools available to you.',
  },
  prompt_not_found: {
    httpStatus: 200,
    rpcCode: RpcCode.invalidParams,
    message: 'Unknown prompt. Call prompts/list to see the prompts available to you.',
  },
  resource_not_found: {
    httpStatus: 200,
    rpcCode: RpcCode.resourceNotFound,
    message: 'Unknown resource. Call resources/list or resources/templates/list to see what is available.',
  },
  body_too_large: { httpStatus: 413, rpcCode: RpcCode.invalidRequest, message: 'The request body exceeds the size limit.' },
  too_deep: { httpStatus: 400, rpcCode: RpcCode.invalidRequest, message: 'The request nests objects or arrays deeper than allowed.' },
  unsupported_media_type: {
    httpStatus: 415,
    rpcCode: RpcCode.invalidRequest,
    message: 'Content-Type must be application/json.',
  },
  not_acceptable: {
    httpStatus: 406,
    rpcCode: RpcCode.invalidRequest,
    message: 'The Accept header must list both application/json and text/event-stream.',
  },
  not_acceptable_sse: { httpStatus: 406, rpcCode: RpcCode.invalidRequest, message: 'The Accept header must list text/event-stream.' },
  method_not_allowed: { httpStatus: 405, rpcCode: RpcCode.invalidRequest, message: 'Method not allowed on this endpoint.' },
  not_found: { httpStatus: 404, rpcCode: RpcCode.invalidRequest, message: 'No such endpoint.' },
  session_required: {
    httpStatus: 400,
    rpcCode: RpcCode.invalidRequest,
    message: 'Missing Mcp-Session-Id header; send initialize first to start a session.',
  },
  session_not_found: {
    httpStatus: 404,
    rpcCode: RpcCode.invalidRequest,
    message: 'Session not found or expired; start a new session with initialize.',
  },
  session_already_initialized: {
    httpStatus: 400,
    rpcCode: RpcCode.invalidRequest,
    message: 'initialize must be the first request of a new session and must be sent without an Mcp-Session-Id.',
  },
  not_initialized: {
    httpStatus: 400,
    rpcCode: RpcCode.invalidRequest,
    message: 'The session is not initialized; send initialize first.',
  },
  unsupported_protocol_version: {
    httpStatus: 400,
    rpcCode: RpcCode.invalidRequest,
    message: 'Unsupported MCP-Protocol-Version header.',
  },
  stream_conflict: {
    httpStatus: 409,
    rpcCode: RpcCode.invalidRequest,
    message: 'A GET stream is already open for this session.',
  },
  forbidden_origin: {
    httpStatus: 403,
    rpcCode: RpcCode.invalidRequest,
    message: 'Origin or Host not allowed (DNS rebinding protection). Add it to listen.allowedOrigins / allowedHosts.',
  },
  header_mismatch: {
    httpStatus: 400,
    rpcCode: RpcCode.headerMismatch,
    message: 'A request header disagrees with the request body.',
  },
  upstream_unavailable: {
    httpStatus: 502,
    rpcCode: RpcCode.serverError,
    message: 'The upstream server is unavailable.',
  },
  upstream_timeout: {
    httpStatus: 504,
    rpcCode: RpcCode.requestTimeout,
    message: 'The upstream server did not answer in time.',
  },
  upstream_protocol_error: {
    httpStatus: 502,
    rpcCode: RpcCode.serverError,
    message: 'The upstream server sent a message that is not valid MCP.',
  },
  client_capability_missing: {
    httpStatus: 200,
    rpcCode: RpcCode.methodNotFound,
    message: 'The client did not declare the capability this request needs.',
  },
  request_cancelled: { httpStatus: 200, rpcCode: RpcCode.requestTimeout, message: 'The request was cancelled.' },
  shutting_down: { httpStatus: 503, rpcCode: RpcCode.serverError, message: 'The gateway is shutting down; retry shortly.' },
  internal: { httpStatus: 500, rpcCode: RpcCode.internalError, message: 'Internal gateway error.' },
  config_invalid: { httpStatus: 400, rpcCode: RpcCode.invalidParams, message: 'The configuration is invalid.' },
  invalid_body: { httpStatus: 400, rpcCode: RpcCode.invalidParams, message: 'The request body is invalid.' },
  invalid_query: { httpStatus: 400, rpcCode: RpcCode.invalidParams, message: 'A query parameter is invalid.' },
  server_not_found: { httpStatus: 404, rpcCode: RpcCode.invalidParams, message: 'No server or virtual server by that name.' },
  name_taken: {
    httpStatus: 409,
    rpcCode: RpcCode.invalidParams,
    message: 'That name is already used by a server or virtual server; servers and virtual servers share /servers/<name>/mcp.',
  },
  read_only_record: {
    httpStatus: 409,
    rpcCode: RpcCode.invalidParams,
    message: 'This record is declared in the config file, which wins over the API; change the file instead.',
  },
  command_not_allowed: {
    httpStatus: 403,
    rpcCode: RpcCode.invalidParams,
    message: 'Registering this stdio server would run a command the gateway does not allow.',
  },
  unauthorized: {
    httpStatus: 401,
    rpcCode: RpcCode.invalidRequest,
    message: 'Authentication required: send a valid API key or access token as "Authorization: Bearer <token>".',
  },
  insufficient_scope: {
    httpStatus: 403,
    rpcCode: RpcCode.invalidRequest,
    message: 'The access token lacks a scope this endpoint requires.',
  },
  forbidden: { httpStatus: 403, rpcCode: RpcCode.invalidRequest, message: 'You are not allowed to do this.' },
  call_denied: {
    httpStatus: 200,
    rpcCode: RpcCode.invalidParams,
    message: 'A policy does not allow this call with these arguments; call it with arguments the policy allows, or ask an administrator.',
  },
  token_in_query: {
    httpStatus: 400,
    rpcCode: RpcCode.invalidRequest,
    message: 'Access tokens are accepted only in the Authorization header, never in the URL (they would end up in logs).',
  },
  key_not_found: { httpStatus: 404, rpcCode: RpcCode.invalidParams, message: 'No API key with that id.' },
  policy_not_found: { httpStatus: 404, rpcCode: RpcCode.invalidParams, message: 'No policy with that id; list them with GET /policies or `gatehouse policies list`.' },
  limit_rule_not_found: { httpStatus: 404, rpcCode: RpcCode.invalidParams, message: 'No limit rule with that name; list them with GET /limits or `gatehouse limit list`.' },
  rate_limited: {
    httpStatus: 429,
    rpcCode: RpcCode.limitExceeded,
    message: 'Too many calls: a rate limit was reached. Wait data.retryAfterMs milliseconds, then call again (refused calls do not count).',
  },
  quota_exceeded: {
    httpStatus: 429,
    rpcCode: RpcCode.limitExceeded,
    message: 'The call quota for this period is used up. It resets in data.retryAfterMs milliseconds; ask an administrator if you need a larger quota.',
  },
  concurrency_limited: {
    httpStatus: 429,
    rpcCode: RpcCode.limitExceeded,
    message: 'Too many of these calls are running at once. Wait for one of your calls to finish, then call again.',
  },
  limits_unavailable: {
    httpStatus: 503,
    rpcCode: RpcCode.serverError,
    message: 'The gateway cannot reach its rate-limit counters, and is set to refuse calls until it can; retry shortly.',
  },
  user_token_unavailable: {
    httpStatus: 200,
    rpcCode: RpcCode.serverError,
    message: 'The gateway could not get a token to act as you toward this server.',
  },
  connection_required: {
    httpStatus: 200,
    rpcCode: RpcCode.urlElicitationRequired,
    message: 'This server acts as you: connect your account once by opening the URL given, then call again.',
  },
  connection_not_found: { httpStatus: 404, rpcCode: RpcCode.invalidParams, message: 'You have no connection to that server.' },
  oauth_flow_invalid: {
    httpStatus: 400,
    rpcCode: RpcCode.invalidRequest,
    message: 'This authorization is unknown, expired, already used, or was started in another browser; start it again.',
  },
  store_unavailable: { httpStatus: 503, rpcCode: RpcCode.serverError, message: 'The registry store is unavailable; retry shortly.' },
  store_schema_too_new: {
    httpStatus: 500,
    rpcCode: RpcCode.internalError,
    message: 'The database was migrated by a newer Gatehouse; run that version, or restore a backup made for this one.',
  },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof catalogue;

/** A catalogue error. `detail` is safe to show to a client; it never carries a stack or a secret. */
export class GatehouseError extends Error {
  readonly code: ErrorCode;
  readonly httpStatus: number;
  readonly rpcCode: number;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, detail?: string, data?: Record<string, unknown>) {
    const entry: CatalogueEntry = catalogue[code];
    super(detail === undefined ? entry.message : `${entry.message} ${detail}`);
    this.name = 'GatehouseError';
    this.code = code;
    this.httpStatus = entry.httpStatus;
    this.rpcCode = entry.rpcCode;
    this.data = data;
  }

  /** The JSON-RPC `error` member for this failure: `data.reason` is the stable catalogue code. */
  toRpcError(): { code: number; message: string; data: Record<string, unknown> } {
    return { code: this.rpcCode, message: this.message, data: { reason: this.code, ...this.data } };
  }
}

/** Anything thrown becomes a catalogue error; unknown failures are `internal` with no detail leaked. */
export function toGatehouseError(value: unknown): GatehouseError {
  return value instanceof GatehouseError ? value : new GatehouseError('internal');
}
