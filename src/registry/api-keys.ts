import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { GatehouseError } from '../core/index.js';
import { serverNameSchema } from './server-spec.js';
import type { ApiKeyRecord } from './store.js';

/**
 * API keys for agents and scripts: the token format, generation, parsing and hashing, and the
 * shapes the registry's key methods take and give (registry.ts holds the methods themselves).
 *
 * A token reads `ghk_<id>_<secret><checksum>`, always 64 characters of [0-9A-Za-z_]:
 *
 * - `ghk_`: a fixed prefix, so a key is recognisable in a log, a diff or a paste (secret scanners match
 *   on it) and so authentication tells a key from a JWT (which starts with `eyJ`) without parsing.
 * - `<id>`: 10 base62 characters (~59.5 random bits). Public: it is the key's name in the store, the
 *   admin API, the event log and `Identity.subject`, so a key can be looked up by primary key and
 *   revoked without anyone handling its secret.
 * - `<secret>`: 43 base62 characters, each uniform over the 62 (rejection sampling, no modulo bias):
 *   43 × log2(62) ≈ 256.03 bits, as much as 32 random bytes.
 * - `<checksum>`: 6 base62 characters of CRC32 over everything before it, as GitHub's tokens carry.
 *   Not a security measure (anyone can compute it): it lets a secret scanner, and `parseApiKey`, tell
 *   a real key from a string that merely looks like one, and turns a mistyped key into "malformed"
 *   without a database lookup.
 *
 * Only the base62 alphabet appears after the prefix, so a double click selects the whole token and no
 * character needs escaping in a header, a URL, YAML or a shell.
 */

export const API_KEY_PREFIX = 'ghk_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const KEY_ID_LENGTH = 10;
const SECRET_LENGTH = 43;
const CHECKSUM_LENGTH = 6;
/** Prefix, id, `_`, secret, checksum. */
export const API_KEY_LENGTH = API_KEY_PREFIX.length + KEY_ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH;

const KEY_ID = new RegExp(`^[0-9A-Za-z]{${KEY_ID_LENGTH}}$`);
const TOKEN = new RegExp(`^${API_KEY_PREFIX}([0-9A-Za-z]{${KEY_ID_LENGTH}})_([0-9A-Za-z]{${SECRET_LENGTH}})([0-9A-Za-z]{${CHECKSUM_LENGTH}})$`);

export interface GeneratedApiKey {
  /** Public; the store's primary key. */
  readonly id: string;
  /** Shown once inside `token`; only its hash is kept. */
  readonly secret: string;
  /** What the client sends as `Authorization: Bearer <token>`. */
  readonly token: string;
}

export interface ParsedApiKey {
  readonly id: string;
  readonly secret: string;
}

/** Whether a bearer token is meant as an API key (rather than a JWT); it may still be malformed or invalid. */
export function isApiKeyToken(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}

/** Whether a string has the shape of a key id (for paths and CLI arguments; says nothing about existence). */
export function isApiKeyId(id: string): boolean {
  return KEY_ID.test(id);
}

/**
 * The id and secret of a well-formed token, or undefined. Cheap (one length check, one anchored regex
 * and a CRC over 58 characters) and strict: exact length, alphabet and checksum, nothing trimmed.
 */
export function parseApiKey(token: string): ParsedApiKey | undefined {
  if (token.length !== API_KEY_LENGTH) return undefined;
  const match = TOKEN.exec(token);
  if (match === null) return undefined;
  const [, id, secret, checksum] = match as unknown as [string, string, string, string];
  if (checksumOf(`${API_KEY_PREFIX}${id}_${secret}`) !== checksum) return undefined;
  return { id, secret };
}

export function generateApiKey(): GeneratedApiKey {
  const id = randomBase62(KEY_ID_LENGTH);
  const secret = randomBase62(SECRET_LENGTH);
  const body = `${API_KEY_PREFIX}${id}_${secret}`;
  return { id, secret, token: `${body}${checksumOf(body)}` };
}

/**
 * SHA-256 of the secret, hex. A slow password hash (scrypt, argon2) exists to make guessing a
 * low-entropy human password from its hash expensive; this secret is 256 random bits, which no
 * amount of hashing speed makes guessable, while a slow hash would cost every request tens of
 * milliseconds of CPU. (The same reasoning as GitHub's and Stripe's token storage.)
 */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/**
 * Whether `secret` hashes to `expectedHash`, compared in constant time so response timing says
 * nothing about how many leading bytes of a guess were right.
 */
export function secretMatches(secret: string, expectedHash: string): boolean {
  const actual = hash('sha256', secret, 'buffer');
  const expected = Buffer.from(expectedHash, 'hex');
  // timingSafeEqual throws on different lengths; a stored hash is always 32 bytes unless a row is corrupt.
  return expected.length === actual.length && timingSafeEqual(actual, expected);
}

/** `length` characters, each uniform over the 62 of the alphabet. */
function randomBase62(length: number): string {
  let result = '';
  while (result.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // 248 = 4 × 62: bytes at or above it are dropped, so every character is equally likely.
      if (byte >= 248) continue;
      result += ALPHABET[byte % 62];
      if (result.length === length) break;
    }
  }
  return result;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let index = 0; index < 256; index += 1) {
    let value = index;
    for (let bit = 0; bit < 8; bit += 1) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
    table[index] = value >>> 0;
  }
  return table;
})();

/** CRC32 (IEEE, as zlib) of ASCII text, as 6 base62 characters. zlib.crc32 is newer than Node 20.11. */
function checksumOf(text: string): string {
  let crc = 0xffffffff;
  for (let index = 0; index < text.length; index += 1) crc = CRC_TABLE[(crc ^ text.charCodeAt(index)) & 0xff]! ^ (crc >>> 8);
  let value = (crc ^ 0xffffffff) >>> 0;
  let result = '';
  for (let index = 0; index < CHECKSUM_LENGTH; index += 1) {
    result = ALPHABET[value % 62]! + result;
    value = Math.floor(value / 62);
  }
  return result;
}

// ---- durations and names --------------------------------------------------------------------

const DURATION = /^(0|[1-9][0-9]{0,5})(s|m|h|d|w)$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** "90d", "12h", "30m", "45s", "2w" (or "0s", for an overlap that ends now) in milliseconds; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (match === null) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

export const DURATION_RULE = 'a whole number and a unit: s, m, h, d or w (e.g. 90d, 12h)';
export const durationSchema = z.string().regex(DURATION, DURATION_RULE);

/**
 * Key names and roles are labels that end up in logs, audit records and tables: printable, short,
 * and free of spaces and control characters, so they cannot forge a log line or break a column.
 */
const LABEL = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$/;
const LABEL_RULE = '1 to 64 characters: letters, digits and . _ @ : -, starting with a letter or digit';

export const apiKeyNameSchema = z.string().regex(LABEL, `a key name is ${LABEL_RULE}`).describe('A label for people and logs, e.g. ci-bot; need not be unique.');
export const roleNameSchema = z.string().regex(LABEL, `a role is ${LABEL_RULE}`);

/** Who a key is for and what it may reach: checked by the registry, and the admin API's body is built on it. */
export const apiKeyGrantSchema = z.strictObject({
  name: apiKeyNameSchema,
  roles: z.array(roleNameSchema).min(1).max(64).describe('Roles the key\'s requests carry; policies refer to them.'),
  endpoints: z
    .array(serverNameSchema)
    .min(1)
    .max(256)
    .optional()
    .describe('Names of the servers and virtual servers the key may reach; leave out for any.'),
});

export type ApiKeyGrant = z.output<typeof apiKeyGrantSchema>;

/** What a key is, for display: revoked wins over expired. */
export type ApiKeyState = 'active' | 'expired' | 'revoked';

export function apiKeyState(key: { readonly expiresAt: string | null; readonly revokedAt: string | null }, nowMs: number): ApiKeyState {
  if (key.revokedAt !== null) return 'revoked';
  return key.expiresAt !== null && Date.parse(key.expiresAt) <= nowMs ? 'expired' : 'active';
}

// ---- what the registry takes and gives ------------------------------------------------------

/** An API key as the world may see it: everything but the hash of its secret. */
export type ApiKey = Omit<ApiKeyRecord, 'secretHash'>;

/** When a key stops working: in so long, at a time, or (neither) never. At most one of the two. */
export interface ApiKeyExpiry {
  readonly expiresInMs?: number | undefined;
  /** ISO-8601. */
  readonly expiresAt?: string | undefined;
}

export interface CreateApiKeyInput extends ApiKeyExpiry {
  readonly name: string;
  readonly roles: readonly string[];
  /** Names of the servers and virtual servers the key may reach; undefined for any. */
  readonly endpoints?: readonly string[] | undefined;
  readonly actor: string;
}

export interface RotateApiKeyInput extends ApiKeyExpiry {
  /** How long the old key keeps working; 24 h when undefined, 0 to end it now. */
  readonly overlapMs?: number | undefined;
  readonly actor: string;
}

/** A key just made: `token` exists only here, to be shown once. */
export interface IssuedApiKey {
  readonly token: string;
  readonly record: ApiKey;
}

export interface RotatedApiKey extends IssuedApiKey {
  /** The key rotated away from, with its shortened expiry. */
  readonly previous: ApiKey;
}

export function publicKey(record: ApiKeyRecord): ApiKey {
  const { secretHash: _hash, ...key } = record;
  return key;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Far enough for any real key, near enough that an expiry is always a valid Date. */
export const MAX_KEY_LIFETIME_MS = 100 * 365 * DAY_MS;

/** The ISO expiry `input` asks for, `fallback` when it asks for none. */
export function expiryOf(input: ApiKeyExpiry, now: number, fallback: string | null): string | null {
  const { expiresInMs, expiresAt } = input;
  if (expiresInMs !== undefined && expiresAt !== undefined) throw new GatehouseError('invalid_body', 'expires: give a duration or a time, not both.');
  if (expiresInMs !== undefined) {
    if (!Number.isSafeInteger(expiresInMs) || expiresInMs <= 0 || expiresInMs > MAX_KEY_LIFETIME_MS) {
      throw new GatehouseError('invalid_body', 'expires: a duration from 1 ms to 100 years.');
    }
    return new Date(now + expiresInMs).toISOString();
  }
  if (expiresAt !== undefined) {
    const at = Date.parse(expiresAt);
    if (Number.isNaN(at)) throw new GatehouseError('invalid_body', `expires: "${expiresAt.slice(0, 40)}" is not an ISO-8601 time.`);
    if (at <= now) throw new GatehouseError('invalid_body', `expires: ${expiresAt.slice(0, 40)} is in the past.`);
    if (at - now > MAX_KEY_LIFETIME_MS) throw new GatehouseError('invalid_body', 'expires: at most 100 years from now.');
    return new Date(at).toISOString();
  }
  return fallback;
}
