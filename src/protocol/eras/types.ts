/**
 * Wire shapes the era helpers read and write. Deliberately loose (MCP capability and result objects
 * are open sets, spec 2026-07-28 schema.ts `ClientCapabilities`: "this is not a closed set"), and
 * independent of the rest of `protocol/` so this folder stays a leaf.
 */

export type JsonObject = { [key: string]: unknown };

/** A JSON-RPC id as MCP allows it: string or number, never null. */
export type JsonRpcId = string | number;

/** Session-based revisions (initialize handshake) versus the stateless per-request revisions. */
export type ProtocolEra = 'legacy' | 'modern';

/** Spec 2026-07-28 schema.ts `Implementation`: `name` and `version` are required. */
export interface Implementation {
  readonly name: string;
  readonly version: string;
  readonly title?: string;
  readonly [key: string]: unknown;
}

export type ClientCapabilities = JsonObject;
export type ServerCapabilities = JsonObject;

/** Spec 2026-07-28 schema.ts `LoggingLevel` (deprecated by SEP-2577, still on the wire). */
export const LOGGING_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;
export type LoggingLevel = (typeof LOGGING_LEVELS)[number];

/** The three former server-to-client requests, now embedded in `input_required` results (SEP-2322). */
export const INPUT_REQUEST_METHODS = ['elicitation/create', 'sampling/createMessage', 'roots/list'] as const;
export type InputRequestMethod = (typeof INPUT_REQUEST_METHODS)[number];

/** An embedded input request: a JSON-RPC request without `jsonrpc` and `id` (schema.ts `InputRequest`). */
export interface InputRequest {
  readonly method: InputRequestMethod;
  readonly params?: JsonObject;
}

export type InputRequests = { readonly [key: string]: InputRequest };

/** Bare results keyed like the `inputRequests` they answer — never a `{ method, result }` wrapper. */
export type InputResponses = { readonly [key: string]: JsonObject };

/** Spec 2026-07-28 schema.ts `InputRequiredResult`: at least one of `inputRequests`, `requestState`. */
export interface InputRequiredResult {
  readonly resultType: 'input_required';
  readonly inputRequests?: InputRequests;
  readonly requestState?: string;
  readonly _meta?: JsonObject;
}

/** A request a legacy-era server sends to its client (sampling, elicitation, roots, ping, …). */
export interface ServerToClientRequest {
  readonly jsonrpc: '2.0';
  readonly id: JsonRpcId;
  readonly method: string;
  readonly params?: JsonObject;
}

export interface RpcErrorBody {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

/** A legacy client's answer to a server-to-client request (or the gateway's answer on its behalf). */
export type ClientToServerResponse =
  | { readonly jsonrpc: '2.0'; readonly id: JsonRpcId; readonly result: JsonObject }
  | { readonly jsonrpc: '2.0'; readonly id: JsonRpcId; readonly error: RpcErrorBody };

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
