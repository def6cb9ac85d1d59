import { GatehouseError } from '../core/index.js';

/** JSON-RPC 2.0 envelopes as MCP uses them (params and results are always objects). */
export type RequestId = string | number;
export type Params = Record<string, unknown>;

export interface JsonRpcRequest {
  jsonrpc: '2.0';
  id: RequestId;
  method: string;
  params?: Params;
}
export interface JsonRpcNotification {
  jsonrpc: '2.0';
  method: string;
  params?: Params;
}
export interface JsonRpcError {
  code: number;
  message: string;
  data?: unknown;
}
export interface JsonRpcSuccess {
  jsonrpc: '2.0';
  id: RequestId;
  result: Params;
}
export interface JsonRpcFailure {
  jsonrpc: '2.0';
  id: RequestId | null;
  error: JsonRpcError;
}
export type JsonRpcResponse = JsonRpcSuccess | JsonRpcFailure;
export type JsonRpcMessage = JsonRpcRequest | JsonRpcNotification | JsonRpcResponse;

export function isRequest(message: JsonRpcMessage): message is JsonRpcRequest {
  return 'method' in message && 'id' in message;
}
export function isNotification(message: JsonRpcMessage): message is JsonRpcNotification {
  return 'method' in message && !('id' in message);
}
export function isResponse(message: JsonRpcMessage): message is JsonRpcResponse {
  return !('method' in message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isValidId(value: unknown): value is RequestId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

/**
 * Checks the envelope only (DESIGN principle 2: no per-call validation of payloads beyond it).
 * Returns the same object, narrowed, or throws `invalid_request`.
 */
export function toMessage(value: unknown): JsonRpcMessage {
  if (!isPlainObject(value) || value.jsonrpc !== '2.0') {
    throw new GatehouseError('invalid_request');
  }
  if ('method' in value) {
    if (typeof value.method !== 'string' || value.method.length === 0) throw new GatehouseError('invalid_request');
    if ('params' in value && value.params !== undefined && !isPlainObject(value.params)) {
      throw new GatehouseError('invalid_request', 'params must be an object.');
    }
    // MCP: request ids MUST be a string or integer and MUST NOT be null.
    if ('id' in value && !isValidId(value.id)) throw new GatehouseError('invalid_request', 'id must be a string or a number.');
    return value as unknown as JsonRpcMessage;
  }
  if (!('id' in value) || !(isValidId(value.id) || value.id === null)) throw new GatehouseError('invalid_request');
  const hasResult = 'result' in value;
  const hasError = 'error' in value;
  if (hasResult === hasError) throw new GatehouseError('invalid_request');
  if (hasResult && !isPlainObject(value.result)) throw new GatehouseError('invalid_request', 'result must be an object.');
  if (hasError && !(isPlainObject(value.error) && typeof value.error.code === 'number')) {
    throw new GatehouseError('invalid_request');
  }
  return value as unknown as JsonRpcMessage;
}

export function errorResponse(id: RequestId | null, error: JsonRpcError): JsonRpcFailure {
  return { jsonrpc: '2.0', id, error };
}

/** The serialised response for a cached result string, without re-serialising the result. */
export function serialiseResultWithId(id: RequestId, serialisedResult: string): string {
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${serialisedResult}}`;
}

/** A result kept serialised (cached lists), written with the caller's id spliced in. */
export interface SerialisedResult {
  readonly id: RequestId;
  readonly serialisedResult: string;
}

/** What answering a request produced: a response, a pre-serialised result, or nothing (cancelled). */
export type RequestOutcome = JsonRpcResponse | SerialisedResult | undefined;

export function serialiseOutcome(outcome: JsonRpcResponse | SerialisedResult): string {
  return 'serialisedResult' in outcome ? serialiseResultWithId(outcome.id, outcome.serialisedResult) : JSON.stringify(outcome);
}
