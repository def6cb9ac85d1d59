/**
 * The URL an OTLP/HTTP exporter posts to. Configured is the collector's base URL, as with
 * OTEL_EXPORTER_OTLP_ENDPOINT (http://collector:4318), and the signal's path is appended; a URL that
 * already ends with that path is taken as it is, so either spelling works.
 */
export function otlpUrl(endpoint: string, signalPath: '/v1/traces' | '/v1/logs'): string {
  const url = new URL(endpoint);
  if (url.pathname.endsWith(signalPath)) return url.toString();
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${signalPath}`;
  return url.toString();
}

/** At most one warning per this long for a collector that does not take what is sent. */
export const EXPORT_WARN_EVERY_MS = 60_000;

/** Calls `warn` at most once per EXPORT_WARN_EVERY_MS (an unreachable collector fails every batch). */
export function rareWarning(warn: (message: string, detail: Record<string, unknown>) => void): (message: string, detail: Record<string, unknown>) => void {
  let last = -Infinity;
  return (message, detail) => {
    const now = Date.now();
    if (now - last < EXPORT_WARN_EVERY_MS) return;
    last = now;
    warn(message, detail);
  };
}
