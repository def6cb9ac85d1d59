/**
 * Protocol revisions. The session-based era (initialize, Mcp-Session-Id) runs from 2024-11-05 to
 * 2025-11-25. Only this module branches on version strings (DESIGN §Protocol revisions).
 */
export const LATEST_SESSION_REVISION = '2025-11-25';
export const SESSION_REVISIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const;
export type SessionRevision = (typeof SESSION_REVISIONS)[number];

export function isSupportedRevision(version: string): boolean {
  return (SESSION_REVISIONS as readonly string[]).includes(version);
}

/** Spec §Lifecycle: answer with the requested version when supported, else the latest we support. */
export function negotiateRevision(requested: unknown): SessionRevision {
  return typeof requested === 'string' && isSupportedRevision(requested)
    ? (requested as SessionRevision)
    : LATEST_SESSION_REVISION;
}

/** JSON-RPC batches were allowed by 2025-03-26 and removed in 2025-06-18. */
export function allowsBatches(revision: string): boolean {
  return revision === '2025-03-26' || revision === '2024-11-05';
}

/** Spec 2025-11-25 §Resumability: SSE streams are primed with an empty event; older clients would choke on it. */
export function primesStreams(revision: string): boolean {
  return revision >= '2025-11-25';
}
