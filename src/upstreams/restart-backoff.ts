/** The longest wait between restarts of a process. */
export const MAX_RESTART_BACKOFF_MS = 30_000;

/**
 * When to restart a process that died: after `firstMs`, doubling with each restart up to 30 s, so
 * that a crash costs little and a healthy restart is quick; back to `firstMs` once the process has
 * stayed up for 30 s.
 */
export class RestartBackoff {
  private delayMs: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly firstMs: number) {
    this.delayMs = firstMs;
  }

  /** Runs `restart` after the current delay (which then doubles); returns the delay, or undefined when one is already pending. */
  schedule(restart: () => void): number | undefined {
    if (this.timer !== undefined) return undefined;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, MAX_RESTART_BACKOFF_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      restart();
    }, delay);
    this.timer.unref();
    return delay;
  }

  /** The restart worked: if `stillUp()` holds 30 s later, the next crash starts from the short delay again. */
  succeeded(stillUp: () => boolean): void {
    setTimeout(() => {
      if (stillUp()) this.delayMs = this.firstMs;
    }, MAX_RESTART_BACKOFF_MS).unref();
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
