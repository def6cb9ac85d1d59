/**
 * Owns things that must be closed, and closes them in reverse order of opening (CONVENTIONS rule 10).
 * `close()` is idempotent and waits for every closer even when one fails.
 */
export class ResourceStack {
  private readonly closers: Array<() => unknown> = [];
  private closing: Promise<void> | undefined;

  defer(closer: () => unknown): void {
    this.closers.push(closer);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.closers.length > 0) {
        const closer = this.closers.pop();
        try {
          await closer?.();
        } catch {
          // A failing closer must not keep the others open; the owner logs its own failures.
        }
      }
    })();
    return this.closing;
  }
}
