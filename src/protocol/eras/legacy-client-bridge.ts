import { missingCapabilities, readInputRequired, requiredCapabilitiesFor } from './input-required.js';
import type {
  ClientCapabilities,
  ClientToServerResponse,
  InputRequest,
  JsonObject,
  JsonRpcId,
  RpcErrorBody,
  ServerToClientRequest,
} from './types.js';

/**
 * Bridge (b): a legacy client in front of a modern upstream. An `input_required` result from the
 * upstream becomes server-to-client requests on the client's session; the client's answers become the
 * `inputResponses` of the retry the gateway sends upstream. The SDK does the same inside one server
 * (`LegacyInputRequiredShim`). See docs/protocol-eras.md §Bridging (b).
 */

export interface LegacyClientContext {
  /** The revision the client negotiated with `initialize`. */
  readonly revision: string;
  /** From the client's `initialize`; `undefined` when there is no session to send requests on. */
  readonly clientCapabilities: ClientCapabilities | undefined;
  /** Mints the JSON-RPC id of each request sent to the client (unique within its session). */
  readonly requestIdFor: (key: string) => JsonRpcId;
  /** Mints `elicitationId` for URL-mode elicitation, required on 2025-11-25; defaults to the request id. */
  readonly elicitationIdFor?: (key: string) => string;
}

export interface PlannedServerRequest {
  readonly key: string;
  readonly request: ServerToClientRequest;
}

export interface RefusedInputRequest {
  readonly key: string;
  readonly method: string;
  readonly reason: string;
}

export type InputRequiredTranslation =
  | {
      readonly ok: true;
      /** Send these on the client's session, in order. */
      readonly requests: readonly PlannedServerRequest[];
      /** Input the client cannot give; fail the call (the SDK shim: tools/call → isError result, else an error). */
      readonly refused: readonly RefusedInputRequest[];
      /** Echo byte-exact on the retry; never shown to the legacy client. */
      readonly requestState?: string;
    }
  | { readonly ok: false; readonly problem: string };

export function inputRequiredToServerRequests(result: unknown, context: LegacyClientContext): InputRequiredTranslation {
  const reading = readInputRequired(result);
  if (!reading.ok) return reading;
  const requests: PlannedServerRequest[] = [];
  const refused: RefusedInputRequest[] = [];
  for (const [key, entry] of Object.entries(reading.inputRequests)) {
    const reason = refusalReason(entry, context);
    if (reason !== undefined) {
      refused.push({ key, method: entry.method, reason });
      continue;
    }
    const id = context.requestIdFor(key);
    const params = legacyParams(entry, context, key, id);
    requests.push({
      key,
      request: params === undefined ? { jsonrpc: '2.0', id, method: entry.method } : { jsonrpc: '2.0', id, method: entry.method, params },
    });
  }
  return reading.requestState === undefined
    ? { ok: true, requests, refused }
    : { ok: true, requests, refused, requestState: reading.requestState };
}

export interface RetryParamsTranslation {
  /** The original params plus `inputResponses` and, if one was given, the echoed `requestState`. */
  readonly params: JsonObject;
  /** Requests the client answered with an error; the 2026 wire has no error input response. */
  readonly failed: readonly { readonly key: string; readonly error: RpcErrorBody }[];
  /** Requests with no answer among `responses`. */
  readonly missing: readonly string[];
}

/**
 * Builds the retry's params (mrtr.mdx §Client Requirements): answers keyed like the input requests,
 * `requestState` echoed exactly and only if the server sent one. The caller sends it with a new
 * JSON-RPC id and its own `_meta` envelope (see `withRequestMeta`).
 */
export function clientResponsesToRetryParams(
  originalParams: JsonObject | undefined,
  sent: readonly PlannedServerRequest[],
  responses: readonly ClientToServerResponse[],
  requestState: string | undefined,
): RetryParamsTranslation {
  const inputResponses: { [key: string]: JsonObject } = {};
  const failed: { key: string; error: RpcErrorBody }[] = [];
  const missing: string[] = [];
  for (const { key, request } of sent) {
    const response = responses.find((candidate) => candidate.id === request.id);
    if (response === undefined) missing.push(key);
    else if ('error' in response) failed.push({ key, error: response.error });
    else inputResponses[key] = modernInputResponse(request.method, response.result);
  }
  const { inputResponses: _old, requestState: _oldState, ...rest } = originalParams ?? {};
  const params: JsonObject = {
    ...rest,
    inputResponses,
    ...(requestState !== undefined && { requestState }),
  };
  return { params, failed, missing };
}

const ELICITATION_SINCE = '2025-06-18';
const URL_ELICITATION_AND_SAMPLING_TOOLS_SINCE = '2025-11-25';

/** Features newer than the client's revision cannot be asked of it, whatever it declared. */
function refusalReason(entry: InputRequest, context: LegacyClientContext): string | undefined {
  if (context.clientCapabilities === undefined) return 'there is no session with the client to send a request on';
  const params = entry.params ?? {};
  if (entry.method === 'elicitation/create') {
    if (context.revision < ELICITATION_SINCE) return `elicitation does not exist in revision ${context.revision}`;
    if (params.mode === 'url' && context.revision < URL_ELICITATION_AND_SAMPLING_TOOLS_SINCE) {
      return `URL-mode elicitation does not exist in revision ${context.revision}`;
    }
  }
  if (
    entry.method === 'sampling/createMessage' &&
    (params.tools !== undefined || params.toolChoice !== undefined) &&
    context.revision < URL_ELICITATION_AND_SAMPLING_TOOLS_SINCE
  ) {
    return `sampling with tools does not exist in revision ${context.revision}`;
  }
  const required = requiredCapabilitiesFor(entry);
  const missing = required === undefined ? undefined : missingCapabilities(required, context.clientCapabilities);
  return missing === undefined ? undefined : `the client did not declare ${JSON.stringify(missing)}`;
}

/**
 * 2025-11-25 requires `elicitationId` on URL-mode elicitation (the 2026 shape dropped it); revisions
 * before 2025-11-25 had no `mode` field, so the explicit `"form"` is removed for them.
 */
function legacyParams(entry: InputRequest, context: LegacyClientContext, key: string, id: JsonRpcId): JsonObject | undefined {
  const params = entry.params;
  if (entry.method !== 'elicitation/create' || params === undefined) return params;
  if (params.mode === 'url' && params.elicitationId === undefined) {
    return { ...params, elicitationId: context.elicitationIdFor?.(key) ?? String(id) };
  }
  if (params.mode === 'form' && context.revision < URL_ELICITATION_AND_SAMPLING_TOOLS_SINCE) {
    const { mode: _mode, ...rest } = params;
    return rest;
  }
  return params;
}

/** Bare result, no `resultType`; a 2025-era `content: null` on an elicitation result means "no content". */
function modernInputResponse(method: string, result: JsonObject): JsonObject {
  const { resultType: _r, ...rest } = result;
  if (method === 'elicitation/create' && rest.content === null) {
    const { content: _c, ...withoutContent } = rest;
    return withoutContent;
  }
  return rest;
}
