import { isJsonObject } from './types.js';
import { isInputRequestMethod, missingCapabilities, requiredCapabilitiesFor } from './input-required.js';
import type {
  ClientCapabilities,
  ClientToServerResponse,
  InputRequest,
  InputRequests,
  JsonObject,
  JsonRpcId,
  ServerToClientRequest,
} from './types.js';

/**
 * Bridge (a): a modern client in front of a legacy upstream. The gateway keeps the upstream session;
 * when the upstream, while serving a call, sends server-to-client requests, they become the
 * `inputRequests` of an `input_required` result for the modern client, and the client's retry is
 * turned back into JSON-RPC responses to the upstream's still-pending requests. See
 * docs/protocol-eras.md §Bridging (a).
 */

/** Keys are unique within one upstream session because the upstream's request ids are; the type is kept. */
export function inputKeyFor(id: JsonRpcId): string {
  return typeof id === 'number' ? `n:${id}` : `s:${id}`;
}

export interface ServerRequestsTranslation {
  /** Upstream requests re-expressed as embedded input requests, keyed by `inputKeyFor(id)`. */
  readonly inputRequests: InputRequests;
  /** Responses the gateway sends upstream at once, on the client's behalf (ping, refusals). */
  readonly answers: readonly ClientToServerResponse[];
  /**
   * What the client would have to declare for the refused requests, merged; `undefined` when nothing
   * was refused for want of a capability. With no `inputRequests` left, fail the client's call with
   * -32021 and this as `requiredCapabilities`, as a modern server does (SDK server, observed).
   */
  readonly missingCapabilities?: ClientCapabilities;
}

/**
 * `clientCapabilities` are the ones declared on the modern request being served: the spec forbids
 * inferring them from earlier requests (schema.ts `RequestMetaObject`) and forbids sending an input
 * request the client did not declare (mrtr.mdx §Server Requirements 7). What the client cannot take is
 * refused upstream with -32601, the answer a 2025-era client gives for a method it has no handler for.
 */
export function serverRequestsToInputRequests(
  requests: readonly ServerToClientRequest[],
  clientCapabilities: ClientCapabilities,
): ServerRequestsTranslation {
  const inputRequests: { [key: string]: InputRequest } = {};
  const answers: ClientToServerResponse[] = [];
  let missing: { [key: string]: unknown } | undefined;
  for (const request of requests) {
    if (request.method === 'ping') {
      // 2026-07-28 removed ping; the gateway is the upstream's peer and answers it itself.
      answers.push({ jsonrpc: '2.0', id: request.id, result: {} });
      continue;
    }
    const required = requiredCapabilitiesFor(request);
    if (!isInputRequestMethod(request.method) || required === undefined) {
      answers.push(refusal(request, `the client cannot serve ${request.method} through this gateway`));
      continue;
    }
    const lacking = missingCapabilities(required, clientCapabilities);
    if (lacking !== undefined) {
      missing = mergeCapabilities(missing, lacking);
      answers.push(refusal(request, `the client did not declare the capability ${request.method} needs`));
      continue;
    }
    const params = embeddedParams(request);
    inputRequests[inputKeyFor(request.id)] = params === undefined ? { method: request.method } : { method: request.method, params };
  }
  return missing === undefined ? { inputRequests, answers } : { inputRequests, answers, missingCapabilities: missing };
}

function mergeCapabilities(into: { [key: string]: unknown } | undefined, more: ClientCapabilities): { [key: string]: unknown } {
  const merged: { [key: string]: unknown } = { ...into };
  for (const [key, value] of Object.entries(more)) {
    const existing = merged[key];
    merged[key] = isJsonObject(existing) && isJsonObject(value) ? { ...existing, ...value } : value;
  }
  return merged;
}

export interface UpstreamResponsesTranslation {
  /** JSON-RPC responses to send upstream, one per pending request the client answered. */
  readonly responses: readonly ClientToServerResponse[];
  /** Pending requests with no answer: ask again with a new input_required (mrtr.mdx §Error Handling). */
  readonly unanswered: readonly ServerToClientRequest[];
  /** Keys whose answer is not a usable bare result; answer the modern client with -32602. */
  readonly invalidKeys: readonly string[];
}

/**
 * Keys the client sent that match nothing pending are ignored (mrtr.mdx §Error Handling: "SHOULD
 * ignore any information it does not recognize").
 */
export function inputResponsesToServerResponses(
  pending: readonly ServerToClientRequest[],
  inputResponses: unknown,
): UpstreamResponsesTranslation {
  const given = isJsonObject(inputResponses) ? inputResponses : {};
  const responses: ClientToServerResponse[] = [];
  const unanswered: ServerToClientRequest[] = [];
  const invalidKeys: string[] = [];
  for (const request of pending) {
    const key = inputKeyFor(request.id);
    const answer = given[key];
    if (answer === undefined) {
      unanswered.push(request);
      continue;
    }
    const result = legacyResultFor(request, answer);
    if (result === undefined) invalidKeys.push(key);
    else responses.push({ jsonrpc: '2.0', id: request.id, result });
  }
  return { responses, unanswered, invalidKeys };
}

function refusal(request: ServerToClientRequest, reason: string): ClientToServerResponse {
  return { jsonrpc: '2.0', id: request.id, error: { code: -32601, message: `Method not found: ${request.method} (${reason}).` } };
}

/**
 * Drops what has no place in an embedded request: `_meta` (the upstream session's progress token and
 * related-task key), `task` (2025-11-25 task augmentation, out of core in 2026-07-28) and a URL-mode
 * `elicitationId` (removed with notifications/elicitation/complete, changelog minor change 11).
 */
function embeddedParams(request: ServerToClientRequest): JsonObject | undefined {
  if (request.params === undefined) return undefined;
  const { _meta: _m, task: _t, ...params } = request.params;
  if (request.method === 'elicitation/create') {
    const { elicitationId: _e, ...rest } = params;
    return rest;
  }
  return params;
}

/**
 * An input response is a bare result (never a `{ method, result }` wrapper — the SDK drops those,
 * server `partitionInputResponses`). `resultType` is not part of a client result. A legacy sampling
 * request without tools expects a single content block (2025-11-25 `CreateMessageResult`), while the
 * 2026 shape allows an array, so a one-element array is unwrapped and a longer one is refused.
 */
function legacyResultFor(request: ServerToClientRequest, answer: unknown): JsonObject | undefined {
  if (!isJsonObject(answer) || 'method' in answer || 'result' in answer) return undefined;
  const { resultType: _r, ...result } = answer;
  if (request.method !== 'sampling/createMessage' || request.params?.tools !== undefined) return result;
  const content = result.content;
  if (!Array.isArray(content)) return result;
  const [only] = content;
  return content.length === 1 && isJsonObject(only) && ['text', 'image', 'audio'].includes(String(only.type))
    ? { ...result, content: only }
    : undefined;
}
