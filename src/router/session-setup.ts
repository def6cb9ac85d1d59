import type { Logger } from '../observability/index.js';
import { Method } from '../protocol/index.js';
import type { UpstreamClient } from '../upstreams/index.js';
import type { RelayState } from './relay-state.js';

/**
 * What a session set up on a server's connection lives in that upstream session only: its resource
 * subscriptions and its logging level. When the session's calls go to a new connection (its replica
 * failed, its process restarted or was stopped when idle), the new upstream session knows none of it,
 * so it is set up again there, or updates and log messages would silently stop.
 */
export function setUpAgain(relay: RelayState, client: UpstreamClient, timeoutMs: number, logger: Logger): void {
  // 2026-07-28 servers have neither: the level travels in each request's _meta, and subscriptions are
  // only recorded (router.subscription).
  if (client.era === 'modern') return;
  const server = client.server;
  const requests: Promise<unknown>[] = [];
  const options = { timeoutMs, idempotent: true };
  if (relay.logLevel !== undefined && relay.loggingServers.has(server)) requests.push(client.request(Method.loggingSetLevel, { level: relay.logLevel }, options));
  for (const target of relay.subscriptions.values()) {
    if (target.server === server) requests.push(client.request(Method.resourcesSubscribe, { uri: target.uri }, options));
  }
  if (requests.length === 0) return;
  void Promise.allSettled(requests).then((outcomes) => {
    const failed = outcomes.filter((outcome) => outcome.status === 'rejected' || (typeof outcome.value === 'object' && outcome.value !== null && 'error' in outcome.value));
    if (failed.length > 0) logger.warn({ server, failed: failed.length, of: requests.length }, 'a session\'s subscriptions or log level could not be set up again on its new connection');
    else logger.debug({ server, requests: requests.length }, 'a session\'s subscriptions and log level were set up again on its new connection');
  });
}
