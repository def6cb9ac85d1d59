import { INPUT_REQUEST_METHODS, isJsonObject } from './types.js';
import type { ClientCapabilities, InputRequest, InputRequestMethod, InputRequests, InputRequiredResult } from './types.js';

/**
 * Multi round-trip requests (spec 2026-07-28 basic/patterns/mrtr.mdx, SEP-2322): instead of sending
 * its own request, a server answers `resultType: "input_required"` with `inputRequests` and/or an
 * opaque `requestState`; the client retries the original request (new JSON-RPC id) with
 * `inputResponses` and the byte-exact `requestState`.
 */

/** Spec mrtr.mdx §Supported Requests: servers MUST NOT send InputRequiredResult on any other request. */
export const INPUT_REQUIRED_METHODS = ['tools/call', 'prompts/get', 'resources/read'] as const;

export function canReturnInputRequired(method: string): boolean {
  return (INPUT_REQUIRED_METHODS as readonly string[]).includes(method);
}

export function isInputRequestMethod(method: unknown): method is InputRequestMethod {
  return (INPUT_REQUEST_METHODS as readonly unknown[]).includes(method);
}

/**
 * Spec 2026-07-28 schema.ts `Result.resultType`: servers on this revision MUST include it; a result
 * from an earlier-revision server has none and MUST be treated as `"complete"`.
 */
export function resultTypeOf(result: unknown): string {
  return isJsonObject(result) && typeof result.resultType === 'string' ? result.resultType : 'complete';
}

/** The discriminator alone, as the SDK checks it (core `isInputRequiredResult`). */
export function isInputRequiredResult(result: unknown): result is InputRequiredResult {
  return isJsonObject(result) && result.resultType === 'input_required';
}

export type InputRequiredReading =
  | { readonly ok: true; readonly inputRequests: InputRequests; readonly requestState?: string }
  | { readonly ok: false; readonly problem: string };

/**
 * Checks what the spec requires of an InputRequiredResult: at least one of `inputRequests` and
 * `requestState` (mrtr.mdx §Server Requirements 6), and every entry an elicitation, sampling or roots
 * request (§Server Requirements 2). An empty `inputRequests` map counts as absent, as in the SDK codec.
 */
export function readInputRequired(result: unknown): InputRequiredReading {
  if (!isInputRequiredResult(result)) return { ok: false, problem: 'resultType is not "input_required"' };
  const raw = (result as { inputRequests?: unknown }).inputRequests;
  const requestState = (result as { requestState?: unknown }).requestState;
  if (requestState !== undefined && typeof requestState !== 'string') return { ok: false, problem: 'requestState must be a string' };
  if (raw !== undefined && !isJsonObject(raw)) return { ok: false, problem: 'inputRequests must be an object' };
  const inputRequests: { [key: string]: InputRequest } = {};
  for (const [key, entry] of Object.entries(raw ?? {})) {
    if (!isJsonObject(entry) || !isInputRequestMethod(entry.method)) {
      return { ok: false, problem: `inputRequests["${key}"] is not an elicitation/create, sampling/createMessage or roots/list request` };
    }
    if (entry.params !== undefined && !isJsonObject(entry.params)) return { ok: false, problem: `inputRequests["${key}"].params must be an object` };
    inputRequests[key] = entry.params === undefined ? { method: entry.method } : { method: entry.method, params: entry.params };
  }
  if (Object.keys(inputRequests).length === 0 && requestState === undefined) {
    return { ok: false, problem: 'neither inputRequests nor requestState is present' };
  }
  return requestState === undefined ? { ok: true, inputRequests } : { ok: true, inputRequests, requestState };
}

export function inputRequiredResult(inputRequests: InputRequests, requestState?: string): InputRequiredResult {
  const hasRequests = Object.keys(inputRequests).length > 0;
  return {
    resultType: 'input_required',
    ...(hasRequests && { inputRequests }),
    ...(requestState !== undefined && { requestState }),
  };
}

/**
 * The client capabilities an input request needs (mrtr.mdx §Server Requirements 7: never send an
 * input request the client did not declare). Mode-aware like the SDK
 * (`requiredClientCapabilitiesForInputRequest`): URL elicitation needs `elicitation.url`, form needs
 * `elicitation.form`, sampling with `tools`/`toolChoice` needs `sampling.tools`.
 */
export function requiredCapabilitiesFor(request: { readonly method: string; readonly params?: unknown }): ClientCapabilities | undefined {
  const params = isJsonObject(request.params) ? request.params : undefined;
  switch (request.method) {
    case 'elicitation/create':
      return params?.mode === 'url' ? { elicitation: { url: {} } } : { elicitation: { form: {} } };
    case 'sampling/createMessage':
      return params?.tools !== undefined || params?.toolChoice !== undefined ? { sampling: { tools: {} } } : { sampling: {} };
    case 'roots/list':
      return { roots: {} };
    default:
      return undefined;
  }
}

/**
 * The part of `required` that `declared` lacks, in ClientCapabilities shape (ready for
 * `data.requiredCapabilities`), or `undefined` when all is declared. A bare `elicitation: {}`
 * declares form mode: that was its meaning before modes existed (SDK `isImpliedCapabilityMember`).
 */
export function missingCapabilities(required: ClientCapabilities, declared: ClientCapabilities | undefined): ClientCapabilities | undefined {
  const missing: { [key: string]: unknown } = {};
  for (const [capability, requirement] of Object.entries(required)) {
    const present = declared?.[capability];
    if (present === undefined) {
      missing[capability] = requirement;
      continue;
    }
    if (!isJsonObject(requirement) || !isJsonObject(present)) continue;
    const members: { [key: string]: unknown } = {};
    for (const [member, need] of Object.entries(requirement)) {
      const implied = capability === 'elicitation' && member === 'form' && present.form === undefined && present.url === undefined;
      if (present[member] === undefined && !implied) members[member] = need;
    }
    if (Object.keys(members).length > 0) missing[capability] = members;
  }
  return Object.keys(missing).length > 0 ? missing : undefined;
}
