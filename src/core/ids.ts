import { randomBytes } from 'node:crypto';

/** 128 random bits, URL-safe: unguessable session ids (spec §Session Management: cryptographically secure). */
export function randomToken(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}
