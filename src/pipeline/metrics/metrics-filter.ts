import { GatehouseError, type Identity } from '../../core/index.js';
import { Method, type RequestOutcome } from '../../protocol/index.js';
import type { CallContext } from '../call-context.js';
import type { Filter } from '../filter-chain.js';

/** Where the filter reports (the observability part's GatewayMetrics, wired in app.ts). */
export interface RequestMetricsSink {
  requestStarted(): void;
  requestFinished(method: string, server: string, kind: string, name: string, outcome: string, caller: Identity, seconds: number): void;
}

/** Methods that name one tool, prompt or resource, and the `kind` label they get. */
const KIND_OF: ReadonlyMap<string, string> = new Map([
  [Method.toolsCall, 'tool'],
  [Method.promptsGet, 'prompt'],
  [Method.resourcesRead, 'resource'],
  [Method.resourcesSubscribe, 'resource'],
  [Method.resourcesUnsubscribe, 'resource'],
]);

/**
 * Method names are chosen by clients (one server's endpoint passes unknown ones through), so only
 * the protocol's own become label values; anything else is "other".
 */
const KNOWN_METHODS: ReadonlySet<string> = new Set([...Object.values(Method), 'server/discover', 'subscriptions/listen']);

/** Outcomes that mean the name did not resolve: asking for the target again would be wasted work. */
const UNRESOLVED: ReadonlySet<string> = new Set(['tool_not_found', 'prompt_not_found', 'resource_not_found', 'invalid_params']);

/**
 * Counts and times every request that crosses the pipeline, by server, kind, name, method and
 * outcome (`ok`, `tool_error` for an `isError` result, `upstream_error` for a server's JSON-RPC error,
 * `cancelled`, or the catalogue code of a refusal). Label values come from bounded sets only: the
 * name is the tool or prompt as its server listed it (never what a client typed: an unknown or
 * hidden name is ""), and resource URIs are never labels. The target is asked for only for calls
 * that name one and only after the call, so it costs nothing when an earlier filter resolved it.
 */
export class MetricsFilter implements Filter<CallContext, RequestOutcome> {
  readonly name = 'metrics';

  constructor(private readonly sink: RequestMetricsSink) {}

  async handle(context: CallContext, next: () => Promise<RequestOutcome>): Promise<RequestOutcome> {
    const started = performance.now();
    this.sink.requestStarted();
    let outcome: RequestOutcome;
    let label: string;
    let failed = false;
    let failure: unknown;
    try {
      outcome = await next();
      label = outcomeLabel(outcome);
    } catch (error) {
      failed = true;
      failure = error;
      label = error instanceof GatehouseError ? error.code : 'internal';
    }
    const seconds = (performance.now() - started) / 1000;
    const method = context.request.method;
    const kind = KIND_OF.get(method);
    const view = context.session.view;
    let server = view.kind === 'server' ? view.servers[0]! : '';
    let name = '';
    if (kind !== undefined && !UNRESOLVED.has(label)) {
      const target = await context.target();
      if (target !== undefined) {
        server = target.server;
        // Only a name the server listed: a server's own endpoint passes unlisted names through when its list failed.
        if (kind !== 'resource' && target.item?.name === target.name) name = target.name;
      }
    }
    this.sink.requestFinished(KNOWN_METHODS.has(method) ? method : 'other', server, kind ?? '', name, label, context.session.identity, seconds);
    if (failed) throw failure;
    return outcome;
  }
}

function outcomeLabel(outcome: RequestOutcome): string {
  if (outcome === undefined) return 'cancelled';
  if ('serialisedResult' in outcome) return 'ok';
  if ('error' in outcome) return 'upstream_error';
  return outcome.result.isError === true ? 'tool_error' : 'ok';
}
