/**
 * What the audit trail must never keep: values under secret-looking field names, and strings that
 * look like credentials wherever they appear. Applied to a call's arguments (and its result when
 * results are captured) before anything is queued, written or sent to a sink.
 */

export const REDACTED = '[REDACTED]';

export interface RedactionOptions {
  /** Field names whose values are replaced whole. Matched ignoring case, `-` and `_`, and as a suffix: `token` also covers `github_token`. */
  readonly fields: readonly string[];
  /** Regular expressions (JavaScript syntax) for secrets inside any string value. */
  readonly patterns: readonly string[];
  /** Also replace e-mail addresses (personal data) in string values. */
  readonly emails?: boolean;
}

/** An e-mail address, loosely: enough to keep personal data out, not to validate. */
export const EMAIL_PATTERN = String.raw`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}`;

// Arguments nest far less than this; deeper values are replaced rather than walked (the frontends
// already refuse messages nested deeper than limits.maxDepth).
const MAX_DEPTH = 100;

function normaliseField(name: string): string {
  return name.toLowerCase().replace(/[-_\s]/g, '');
}

export class Redactor {
  private readonly fields: readonly string[];
  /** One alternation of every pattern: each string is scanned once. */
  private readonly pattern: RegExp | undefined;

  constructor(options: RedactionOptions) {
    this.fields = [...new Set(options.fields.map(normaliseField).filter((field) => field !== ''))];
    const sources = [...options.patterns, ...(options.emails === true ? [EMAIL_PATTERN] : [])];
    this.pattern = sources.length === 0 ? undefined : new RegExp(sources.map((source) => `(?:${source})`).join('|'), 'g');
  }

  /** Whether a field's value is replaced whole. */
  isSecretField(name: string): boolean {
    const normalised = normaliseField(name);
    return this.fields.some((field) => normalised.endsWith(field));
  }

  redactText(text: string): string {
    if (this.pattern === undefined) return text;
    this.pattern.lastIndex = 0;
    return this.pattern.test(text) ? text.replace(this.pattern, REDACTED) : text;
  }

  /** A copy of `value` with secrets replaced; the input is never changed. */
  redact(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return this.redactText(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth >= MAX_DEPTH) return REDACTED;
    if (Array.isArray(value)) return value.map((item) => this.redact(item, depth + 1));
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      copy[key] = item !== null && item !== undefined && this.isSecretField(key) ? REDACTED : this.redact(item, depth + 1);
    }
    return copy;
  }
}
