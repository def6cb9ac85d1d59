import type { UpstreamEndpoint } from './upstream-endpoint.js';

/**
 * Power of two choices over an endpoint's cost, latency × load ÷ weight (Mitzenmacher; Finagle's and
 * linkerd's P2C + EWMA, Envoy's least-request). Two random candidates and the cheaper wins: nearly as
 * good as always taking the cheapest, without herding every new session onto the one endpoint that
 * looked best a moment ago.
 *
 * Load is in-flight requests plus upstream sessions: a session is sticky (its upstream session lives
 * on one replica), so each one placed is a promise of future calls, and counting it spreads sessions
 * even while they are idle. An endpoint not measured yet is taken to be as fast as the measured ones.
 * Endpoints whose circuit is open (and not ready for a trial) are never picked; among the others, the
 * ones whose last connection or health check failed are picked only when no other is left.
 */
export function pickEndpoint(endpoints: readonly UpstreamEndpoint[], random: () => number = Math.random, avoid?: UpstreamEndpoint): UpstreamEndpoint | undefined {
  let candidates = endpoints.filter((endpoint) => endpoint !== avoid && endpoint.breaker.available);
  const up = candidates.filter((endpoint) => endpoint.healthy);
  if (up.length > 0) candidates = up;
  if (candidates.length <= 1) return candidates[0];
  const first = Math.floor(random() * candidates.length) % candidates.length;
  let second = Math.floor(random() * (candidates.length - 1)) % (candidates.length - 1);
  if (second >= first) second++;
  const a = candidates[first]!;
  const b = candidates[second]!;
  const unmeasured = averageLatency(candidates);
  const costA = costOf(a, unmeasured);
  const costB = costOf(b, unmeasured);
  if (costA === costB) return random() < 0.5 ? a : b;
  return costA < costB ? a : b;
}

/** latency × (load + 1) ÷ weight; the +1 lets latency tell idle endpoints apart. */
export function costOf(endpoint: UpstreamEndpoint, unmeasuredMs: number): number {
  return ((endpoint.ewmaMs ?? unmeasuredMs) * (endpoint.inflight + endpoint.sessions + 1)) / endpoint.weight;
}

function averageLatency(endpoints: readonly UpstreamEndpoint[]): number {
  let sum = 0;
  let count = 0;
  for (const endpoint of endpoints) {
    if (endpoint.ewmaMs === undefined) continue;
    sum += endpoint.ewmaMs;
    count++;
  }
  return count === 0 ? 1 : sum / count;
}
