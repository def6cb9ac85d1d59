import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { GatehouseError } from '../core/index.js';

const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** The format's version, first in every sealed value, so the scheme can change without guessing. */
const VERSION = 'v1';

/**
 * Authenticated encryption (AES-256-GCM, a fresh 96-bit nonce per value) for secrets the registry
 * keeps in its database, such as users' upstream tokens. `context` is bound in as additional data, so a
 * sealed value moved to another row (another user, another server) no longer opens.
 */
export class SealedBox {
  private constructor(private readonly key: Buffer) {}

  /** A 32-byte key, given as base64 or hex (`openssl rand -base64 32`). */
  static fromKey(encoded: string): SealedBox {
    const trimmed = encoded.trim();
    const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
    if (key.length !== KEY_BYTES) {
      throw new Error(`The secret key must be ${KEY_BYTES} bytes, base64 or hex encoded (e.g. \`openssl rand -base64 32\`); got ${key.length} bytes.`);
    }
    return new SealedBox(key);
  }

  /**
   * The key in `file`, created (readable by the owner only) when there is none: an embedded gateway
   * works without setup, and its tokens survive restarts.
   */
  static async fromKeyFile(file: string): Promise<SealedBox> {
    try {
      return SealedBox.fromKey(await readFile(file, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    await mkdir(dirname(file), { recursive: true });
    const encoded = randomBytes(KEY_BYTES).toString('base64');
    try {
      // `wx`: of two processes starting at once, one writes and the other reads what it wrote.
      await writeFile(file, `${encoded}\n`, { mode: 0o600, flag: 'wx' });
      await chmod(file, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return SealedBox.fromKey(await readFile(file, 'utf8'));
    }
    return SealedBox.fromKey(encoded);
  }

  /** A key that lives as long as the process (for a memory store, whose data does too). */
  static ephemeral(): SealedBox {
    return new SealedBox(randomBytes(KEY_BYTES));
  }

  seal(plaintext: string, context: string): string {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, nonce);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `${VERSION}.${Buffer.concat([nonce, cipher.getAuthTag(), body]).toString('base64url')}`;
  }

  /** The plaintext, or `store_unavailable` when the value was sealed with another key, altered, or moved. */
  open(sealed: string, context: string): string {
    const [version, payload] = sealed.split('.', 2);
    const bytes = payload === undefined ? Buffer.alloc(0) : Buffer.from(payload, 'base64url');
    if (version !== VERSION || bytes.length < NONCE_BYTES + TAG_BYTES) throw unreadable();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, NONCE_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(bytes.subarray(NONCE_BYTES, NONCE_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw unreadable();
    }
  }
}

function unreadable(): GatehouseError {
  return new GatehouseError(
    'store_unavailable',
    'A sealed secret in the store cannot be opened: it was sealed with another secret key (check GATEHOUSE_SECRET_KEY / connections.secretKey on every replica) or altered.',
  );
}
