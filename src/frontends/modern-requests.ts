import { ANONYMOUS, uniqueIds, type Identity } from '../core/index.js';
import {
  DISCOVER_METHOD,
  MODERN_REVISIONS,
  ModernErrorCode,
  buildDiscoverResult,
  invalidEnvelope,
  isModernRevision,
  methodNotFoundOnModernEra,
  readRequestMeta,
  toModernErrorCode,
  toModernResult,
  unsupportedProtocolVersion,
  type ModernError,
  type RequestMeta,
} from '../protocol/eras/index.js';
import { Method, serialiseOutcome, type JsonRpcMessage, type JsonRpcRequest, type Params, type RequestOutcome } from '../protocol/index.js';
import type { TraceCarrier } from '../observability/index.js';
import { ClientSession, type SessionView } from '../session/index.js';
import { GATEWAY_INFO, type MessageHandler, type RelayHooks } from './message-handler.js';
import { retryAfterSeconds } from './retry-after.js';

/** Methods the 2026-07-28 revision removed; a modern request naming them is 404 / -32601. */
const REMOVED_METHODS = new Set<string>([
  Method.initialize,
  Method.ping,
  Method.loggingSetLevel,
  Method.resourcesSubscribe,
  Method.resourcesUnsubscribe,
]);

/** One answer: the serialised response and the HTTP status a transport with statuses should use. */
export interface ModernAnswer {
  readonly status: number;
  readonly body: string;
  /** Seconds for a Retry-After header (an error that says when to retry). */
  readonly retryAfterSeconds?: number | undefined;
}

/** The envelope checks of a 2026-07-28 request: its `_meta`, or the error to answer with. */
export function readModernEnvelope(message: JsonRpcRequest): { meta: RequestMeta } | { failure: ModernError } {
  const reading = readRequestMeta(message.params);
  if (reading.kind !== 'valid') {
    const detail = reading.kind === 'invalid' ? reading.issues.map((issue) => `${issue.key}: ${issue.problem}`).join('; ') : 'missing';
    return { failure: invalidEnvelope(detail) };
  }
  if (!isModernRevision(reading.meta.protocolVersion)) return { failure: unsupportedProtocolVersion(MODERN_REVISIONS, reading.meta.protocolVersion) };
  return { meta: reading.meta };
}

export function failureAnswer(id: unknown, failure: ModernError): ModernAnswer {
  return { status: failure.httpStatus, body: JSON.stringify({ jsonrpc: '2.0', id: typeof id === 'string' || typeof id === 'number' ? id : null, error: failure.error }) };
}

/**
 * A 2026-07-28 request, whatever the transport: no session and no handshake; a one-shot session
 * carries the request's capabilities through the pipeline, and nothing stays behind but a call
 * parked for an input_required retry. `related` receives what must go out before the answer
 * (progress, log lines the request asked for).
 */
export class ModernRequests {
  /** A one-request session's id names it in logs and relays; it is never sent, so it need not be unguessable. */
  private readonly sessionIds = uniqueIds('m-');

  constructor(
    private readonly handler: MessageHandler,
    private readonly relay: RelayHooks,
  ) {}

  /** The one-shot session of a request; `related` is where its notifications go. */
  session(view: SessionView, meta: RequestMeta, related: (message: JsonRpcMessage) => void, identity: Identity = ANONYMOUS, clientAddress = ''): ClientSession {
    const session = new ClientSession(this.sessionIds(), this.handler.viewFor(view, identity), meta.protocolVersion, { send: related, close: () => undefined });
    session.identity = identity;
    session.clientAddress = clientAddress;
    session.stateless = true;
    session.initialized = true;
    session.clientCapabilities = meta.clientCapabilities;
    if (meta.clientInfo) session.clientInfo = meta.clientInfo as unknown as Params;
    session.logLevel = meta.logLevel;
    return session;
  }

  /** Answers discover itself, refuses removed methods, and sends everything else through the pipeline. */
  async answer(session: ClientSession, message: JsonRpcRequest, carrier?: TraceCarrier): Promise<ModernAnswer | undefined> {
    if (REMOVED_METHODS.has(message.method)) return failureAnswer(message.id, methodNotFoundOnModernEra(message.method));
    if (message.method === DISCOVER_METHOD) {
      const description = await this.relay.describe(session.view);
      const result = buildDiscoverResult({
        supportedVersions: MODERN_REVISIONS,
        capabilities: description.capabilities,
        ...(description.instructions !== undefined ? { instructions: description.instructions } : {}),
        serverInfo: { name: GATEWAY_INFO.name, version: GATEWAY_INFO.version },
      });
      return { status: 200, body: JSON.stringify({ jsonrpc: '2.0', id: message.id, result }) };
    }
    const outcome = await this.handler.request(session, message, carrier);
    this.handler.release(session, false);
    return outcome === undefined
      ? undefined
      : { status: httpStatusOf(outcome), body: modernOutcome(message.method, outcome), retryAfterSeconds: retryAfterSeconds(outcome) };
  }
}

/**
 * Errors the 2026-07-28 transport answers with an HTTP status of their own (streamable-http §Server
 * Validation): header, capability and version errors are 400, an unknown method 404. Everything else
 * stays in-band on 200.
 */
function httpStatusOf(outcome: Exclude<RequestOutcome, undefined>): number {
  if (!('error' in outcome)) return 200;
  const code = outcome.error.code;
  if (code === ModernErrorCode.headerMismatch || code === ModernErrorCode.missingRequiredClientCapability || code === ModernErrorCode.unsupportedProtocolVersion) {
    return 400;
  }
  return code === -32601 ? 404 : 200;
}

/** Results get resultType (and cache fields on lists and reads); error codes move to the 2026-07-28 ones. */
function modernOutcome(method: string, outcome: Exclude<RequestOutcome, undefined>): string {
  if ('serialisedResult' in outcome) return serialiseOutcome(outcome); // the router served a modern page
  if ('result' in outcome) {
    const result = toModernResult(method, outcome.result, { serverInfo: { name: GATEWAY_INFO.name, version: GATEWAY_INFO.version } });
    return JSON.stringify({ jsonrpc: '2.0', id: outcome.id, result });
  }
  return JSON.stringify({ ...outcome, error: { ...outcome.error, code: toModernErrorCode(outcome.error.code) } });
}
