import { GatehouseError, randomToken } from '../core/index.js';
import {
  inputKeyFor,
  missingRequiredClientCapability,
  inputResponsesToServerResponses,
  serverRequestsToInputRequests,
  type ClientCapabilities,
} from '../protocol/eras/index.js';
import type { JsonRpcResponse, Params, RequestOutcome } from '../protocol/index.js';
import type { ClientLink } from './client-link.js';
import type { InflightCall, InputWaiter } from './relay-state.js';

/** How long a parked call waits for the client's retry before it is cancelled upstream. */
const PARKED_TTL_MS = 5 * 60_000;

interface ParkedCall {
  readonly call: InflightCall;
  readonly completion: Promise<RequestOutcome>;
  timer: NodeJS.Timeout;
}

/**
 * Bridge (a) of docs/protocol-eras.md: a 2026-07-28 client calls through a session-based upstream.
 * When the upstream asks the client something mid-call (sampling, elicitation, roots), the call is
 * parked and the client gets an `input_required` result whose `requestState` names the parked call;
 * the client's retry answers the upstream's pending requests and waits on the same call again.
 * `requestState` is 128 random bits that name an entry held here, so it cannot be forged or altered
 * into something else (mrtr §Server Requirements 4).
 */
export class InputBridge {
  private readonly parked = new Map<string, ParkedCall>();

  /** Waits for the call to finish, or for the upstream to need input; parks the call in the second case. */
  async settle(call: InflightCall, completion: Promise<RequestOutcome>, existingToken?: string): Promise<RequestOutcome> {
    const waiter = call.inputs!;
    for (;;) {
      if (waiter.pending.length === 0) {
        const wake = new Promise<'input'>((resolve) => (waiter.wake = () => resolve('input')));
        const winner = await Promise.race([completion.then(() => 'done' as const, () => 'done' as const), wake]);
        waiter.wake = undefined;
        if (winner === 'done') {
          if (existingToken !== undefined) this.drop(existingToken);
          return completion;
        }
      }
      let requests = waiter.pending.splice(0);
      // A roots/list the client cannot answer is answered with no roots, as the session path does:
      // servers ask for roots on their own schedule, not only for the call in flight.
      if (call.session.clientCapabilities.roots === undefined) {
        for (const request of requests) if (request.method === 'roots/list') void call.client.respond({ jsonrpc: '2.0', id: request.id, result: { roots: [] } });
        requests = requests.filter((request) => request.method !== 'roots/list');
      }
      const translation = serverRequestsToInputRequests(requests, call.session.clientCapabilities as ClientCapabilities);
      for (const answer of translation.answers) void call.client.respond(answer as JsonRpcResponse);
      if (translation.missingCapabilities !== undefined) {
        // mrtr §Server Requirements 7: input the client did not declare is -32021, not a silent refusal.
        if (existingToken !== undefined) this.drop(existingToken);
        call.cancelled = true;
        if (call.upstreamId !== undefined) call.client.cancel(call.upstreamId, 'the client lacks a capability the server needs');
        const failure = missingRequiredClientCapability(translation.missingCapabilities);
        return { jsonrpc: '2.0', id: call.downstreamId, error: failure.error };
      }
      waiter.asked = requests.filter((request) => inputKeyFor(request.id) in translation.inputRequests);
      if (waiter.asked.length === 0) continue; // every request was answered or refused: keep waiting
      // A new requestState every round (mrtr: each round's state is its own), the old one forgotten.
      if (existingToken !== undefined) this.drop(existingToken);
      const token = randomToken(16);
      existingToken = token;
      this.park(token, call, completion);
      return {
        jsonrpc: '2.0',
        id: call.downstreamId,
        result: { resultType: 'input_required', inputRequests: translation.inputRequests as Params, requestState: token },
      };
    }
  }

  /** Whether `requestState` names a call parked here (else it is an upstream's own state). */
  has(requestState: unknown): boolean {
    return typeof requestState === 'string' && this.parked.has(requestState);
  }

  /** A retry: answer the upstream with the client's input responses, then wait on the call again. */
  resume(session: ClientLink, downstreamId: string | number, requestState: unknown, inputResponses: unknown): Promise<RequestOutcome> {
    const parked = typeof requestState === 'string' ? this.parked.get(requestState) : undefined;
    if (!parked) {
      throw new GatehouseError('invalid_params', 'requestState is unknown or expired; send the request again without it.');
    }
    const { call } = parked;
    call.session = session;
    call.downstreamId = downstreamId;
    const translation = inputResponsesToServerResponses(call.inputs!.asked, inputResponses);
    if (translation.invalidKeys.length > 0) {
      throw new GatehouseError('invalid_params', `inputResponses for ${translation.invalidKeys.join(', ')} are not valid results.`);
    }
    for (const response of translation.responses) void call.client.respond(response as JsonRpcResponse);
    // Unanswered requests are asked again in the next input_required round.
    call.inputs!.pending.push(...translation.unanswered);
    call.inputs!.asked = [];
    clearTimeout(parked.timer);
    return this.settle(call, parked.completion, requestState as string);
  }

  private park(token: string, call: InflightCall, completion: Promise<RequestOutcome>): void {
    const existing = this.parked.get(token);
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.parked.delete(token);
      call.cancelled = true;
      if (call.upstreamId !== undefined) call.client.cancel(call.upstreamId, 'the client did not retry in time');
    }, PARKED_TTL_MS);
    timer.unref();
    this.parked.set(token, { call, completion, timer });
  }

  private drop(token: string): void {
    const parked = this.parked.get(token);
    if (!parked) return;
    clearTimeout(parked.timer);
    this.parked.delete(token);
  }

  close(): void {
    for (const token of [...this.parked.keys()]) this.drop(token);
  }
}

export function newInputWaiter(): InputWaiter {
  return { pending: [], asked: [], wake: undefined };
}
