/**
 * The filter contract (CONVENTIONS rule 7): a filter gets the call's context and `next`, and either
 * continues (`return next()`), answers by itself, or throws a catalogue error. The chain is compiled
 * once per config load; with no filters the compiled chain is the terminal handler itself, so a
 * disabled filter costs nothing per call.
 */
export interface Filter<Context, Outcome> {
  readonly name: string;
  handle(context: Context, next: () => Promise<Outcome>): Promise<Outcome>;
}

export type Chain<Context, Outcome> = (context: Context) => Promise<Outcome>;

export function compileChain<Context, Outcome>(
  filters: readonly Filter<Context, Outcome>[],
  terminal: Chain<Context, Outcome>,
): Chain<Context, Outcome> {
  return filters.reduceRight<Chain<Context, Outcome>>(
    (next, filter) => (context) => filter.handle(context, () => next(context)),
    terminal,
  );
}
