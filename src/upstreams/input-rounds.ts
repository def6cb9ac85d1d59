import {
  LATEST_SESSION_REVISION,
  type JsonRpcRequest,
  type JsonRpcResponse,
  type Params,
  type RequestId,
} from '../protocol/index.js';
import {
  clientResponsesToRetryParams,
  inputRequiredToServerRequests,
  type ClientToServerResponse,
  type PlannedServerRequest,
} from '../protocol/eras/index.js';

/** The SDK client caps input_required rounds at 10; so does the gateway. */
export const MAX_INPUT_ROUNDS = 10;

/** Everything the gateway gives a server in one round, and the answers it has so far. */
export interface InputRound {
  readonly requestId: RequestId;
  readonly sent: readonly PlannedServerRequest[];
  readonly requestState: string | undefined;
  readonly responses: ClientToServerResponse[];
}

/**
 * Bridge (b) of docs/protocol-eras.md, inside the upstream client: a 2026-07-28 server answers a call
 * with `input_required`; the gateway turns each embedded request into an ordinary server-to-client
 * request (so the router relays it like a session-era server's), collects the answers, and retries
 * the call with `inputResponses` and the echoed `requestState`.
 */
export class InputRounds {
  private readonly bySyntheticId = new Map<RequestId, InputRound>();
  private next = 1;

  /** Plans a round; returns the requests to hand to the router, or a failure to answer with. */
  start(requestId: RequestId, result: Params): { round: InputRound; requests: JsonRpcRequest[] } | { problem: string } {
    const translation = inputRequiredToServerRequests(result, {
      revision: LATEST_SESSION_REVISION,
      // The router checks the real client's capabilities when it relays each request.
      clientCapabilities: { sampling: { tools: {}, context: {} }, elicitation: { form: {}, url: {} }, roots: {} },
      requestIdFor: () => `gatehouse-input-${this.next++}`,
    });
    if (!translation.ok) return { problem: translation.problem };
    const round: InputRound = { requestId, sent: translation.requests, requestState: translation.requestState, responses: [] };
    for (const planned of translation.requests) this.bySyntheticId.set(planned.request.id, round);
    return { round, requests: translation.requests.map((planned) => planned.request as JsonRpcRequest) };
  }

  /** Records an answer; returns the round when it is complete. Undefined for ids that are not ours. */
  answer(response: JsonRpcResponse): { round: InputRound; complete: boolean } | undefined {
    if (response.id === null) return undefined;
    const round = this.bySyntheticId.get(response.id);
    if (!round) return undefined;
    this.bySyntheticId.delete(response.id);
    round.responses.push(response as ClientToServerResponse);
    return { round, complete: round.responses.length === round.sent.length };
  }

  /** The retry's params, or the client's error when it refused one of the requests. */
  retryParams(round: InputRound, originalParams: Params | undefined): { params: Params } | { error: { code: number; message: string } } {
    const translation = clientResponsesToRetryParams(originalParams, round.sent, round.responses, round.requestState);
    const failed = translation.failed[0];
    if (failed) return { error: { code: failed.error.code, message: failed.error.message } };
    return { params: translation.params };
  }

  /** Forgets a round whose call ended (cancelled, timed out). */
  drop(requestId: RequestId): void {
    for (const [id, round] of this.bySyntheticId) if (round.requestId === requestId) this.bySyntheticId.delete(id);
  }
}
