import type { IncomingMessage } from 'node:http';
import type { Identity } from '../core/index.js';
import type { Logger } from '../observability/index.js';
import type { HealthSummary, Registry } from '../registry/index.js';
import type { AdminAuditTrail } from './admin-audit.js';

/** One endpoint (replica) of an HTTP server as the balancer sees it. */
export interface EndpointRuntime {
  url: string;
  weight: number;
  circuit: 'closed' | 'open' | 'half-open';
  /** Whether its last connection failed. */
  down: boolean;
  /** Neither its last connection nor its last health check failed. */
  healthy: boolean;
  /** Moving average of its successful calls' latency; null before the first, and for a server with one endpoint (not measured). */
  ewmaMs: number | null;
  inflight: number;
  sessions: number;
  lastError?: string;
}

/** What the admin API needs from the running gateway; `app.ts` provides it (the API never imports the gateway). */
export interface AdminDeps {
  registry: Registry;
  /** Running state of a served server, undefined when not running. */
  runtime(name: string): { state: string; lastError?: string; circuit?: 'closed' | 'open' | 'half-open'; endpoints?: readonly EndpointRuntime[] } | undefined;
  /** Last health summaries (uptime over 24 h, latency, last error), by server. */
  health(): ReadonlyMap<string, HealthSummary>;
  /** Base URL clients use to reach this gateway (e.g. http://127.0.0.1:8080), for exported client configs. */
  publicUrl(): string;
  /** Gateway-wide facts for `GET /status`: version, uptime, sessions, store kind, counts. */
  status(): Record<string, unknown>;
  maxBodyBytes: number;
  /** Where unexpected failures are logged (a catalogue error is the caller's business and is not). */
  logger?: Logger;
  /** Who sent a request, as the change log names them (the authenticated identity); LOCAL_ACTOR when unknown. */
  actorOf?(request: IncomingMessage): string;
  /** The identity the HTTP edge authenticated for a request (anonymous when none), as the audit trail records callers. */
  identityOf?(request: IncomingMessage): Identity;
  /** Where changes are recorded (admin-audit.ts); undefined when audit.enabled is off. */
  audit?: AdminAuditTrail;
}

/** The actor of a change made without a credential: on loopback, the local operator. */
export const LOCAL_ACTOR = 'local';
