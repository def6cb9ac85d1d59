import type { CallNotes, CallTrace } from '../core/index.js';
import type { JsonRpcRequest, Params } from '../protocol/index.js';
import type { ClientSession } from '../session/index.js';

/** What a request is aimed at, once names are resolved: the server and the name (or URI) it knows. */
export interface CallTarget {
  readonly server: string;
  readonly kind: 'tools' | 'prompts' | 'resources';
  /** The tool or prompt name, or resource URI, as the server knows it. */
  readonly name: string;
  /** The item as the server listed it (tool annotations are read from here), when listed. */
  readonly item?: Params | undefined;
  /**
   * Whether the caller's policy conditions on arguments allow this call (the router checks them again;
   * a filter that answers by itself, like the cache, must not answer a call they refuse). Only `true`
   * means allowed.
   */
  readonly authorized?: boolean;
}

/** Resolves a request's target (the router, wired in app.ts); undefined for list calls and unknown names. */
export type TargetResolver = (session: ClientSession, request: JsonRpcRequest) => Promise<CallTarget | undefined>;

/**
 * The context every filter of the pipeline sees. The target is resolved on first ask and only then,
 * so a chain whose filters never ask costs nothing more than before.
 */
export class CallContext implements CallNotes {
  /** Set by the router: where the call was last sent (the audit records it). */
  upstream: string | undefined = undefined;
  private resolved: Promise<CallTarget | undefined> | undefined;

  constructor(
    readonly session: ClientSession,
    readonly request: JsonRpcRequest,
    private readonly resolver: TargetResolver | undefined,
    /** The request's trace, when tracing is on: filters that do I/O open a step under it. */
    readonly trace: CallTrace | undefined = undefined,
  ) {}

  /** The client's address (see ClientSession.clientAddress): a field read, nothing made per call. */
  get clientAddress(): string {
    return this.session.clientAddress;
  }

  /** The server and name this request goes to (tools/call, prompts/get, resources/read …). */
  target(): Promise<CallTarget | undefined> {
    this.resolved ??= this.resolver === undefined ? Promise.resolve(undefined) : this.resolver(this.session, this.request).catch(() => undefined);
    return this.resolved;
  }
}
