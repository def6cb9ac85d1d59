import type { ProtocolEra } from './types.js';

/**
 * Protocol revisions Gatehouse speaks, and which era each belongs to. Revision identifiers are ISO
 * dates, so string order is chronological; the SDK uses the same rule
 * (@modelcontextprotocol/core-internal `shared/protocolEras.ts`: `version >= '2026-07-28'`).
 */
export const FIRST_MODERN_REVISION = '2026-07-28';

/** Stateless revisions: version and capabilities in every request's `_meta`, `server/discover`. */
export const MODERN_REVISIONS = ['2026-07-28'] as const;

/** Session-based revisions: `initialize` handshake, `Mcp-Session-Id`, server-to-client requests. */
export const LEGACY_REVISIONS = ['2025-11-25', '2025-06-18', '2025-03-26', '2024-11-05'] as const;

/** Every revision we speak, most preferred first: modern before legacy, newest first within an era. */
export const SUPPORTED_REVISIONS = [...MODERN_REVISIONS, ...LEGACY_REVISIONS] as const;

export type ModernRevision = (typeof MODERN_REVISIONS)[number];
export type LegacyRevision = (typeof LEGACY_REVISIONS)[number];
export type SupportedRevision = (typeof SUPPORTED_REVISIONS)[number];

const REVISION_SHAPE = /^\d{4}-\d{2}-\d{2}$/;

/**
 * The era a revision identifier belongs to, or `undefined` when the value is not a revision
 * identifier at all (not a string, or not `YYYY-MM-DD`). Unknown but well-formed dates still get an
 * era, so a future `2027-…` revision is recognised as modern and answered with
 * UnsupportedProtocolVersion rather than mistaken for a legacy client.
 */
export function eraOf(version: unknown): ProtocolEra | undefined {
  if (typeof version !== 'string' || !REVISION_SHAPE.test(version)) return undefined;
  return version >= FIRST_MODERN_REVISION ? 'modern' : 'legacy';
}

export function isModernRevision(version: unknown): version is ModernRevision {
  return (MODERN_REVISIONS as readonly unknown[]).includes(version);
}

export function isLegacyRevision(version: unknown): version is LegacyRevision {
  return (LEGACY_REVISIONS as readonly unknown[]).includes(version);
}

export function isKnownRevision(version: unknown): version is SupportedRevision {
  return (SUPPORTED_REVISIONS as readonly unknown[]).includes(version);
}

/**
 * Our most preferred revision that the peer also offers (optionally within one era), e.g. from a
 * DiscoverResult's `supportedVersions` or an UnsupportedProtocolVersion error's `data.supported`.
 */
export function preferredRevision(offered: readonly string[], era?: ProtocolEra): SupportedRevision | undefined {
  return SUPPORTED_REVISIONS.find(
    (revision) => offered.includes(revision) && (era === undefined || eraOf(revision) === era),
  );
}
