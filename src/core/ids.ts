import { randomBytes } from 'node:crypto';

/** 128 random bits, URL-safe: unguessable session ids (spec §Session Management: cryptographically secure). */
export function randomToken(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Ids that must be unique, here and across replicas, but need not be unguessable (a concurrency
 * lease, a one-request session): a random prefix drawn once, then a counter. Drawing random bytes
 * per id cost ~6 µs a call on the hot path (a getrandom syscall each; measured in the limits filter).
 */
export function uniqueIds(prefix = ''): () => string {
  const base = `${prefix}${randomToken(6)}.`;
  let next = 0;
  return () => base + (next++).toString(36);
}
