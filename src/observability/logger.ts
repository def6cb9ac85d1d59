import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Where secrets would sit if an object that holds them were ever logged whole (a server spec, a
 * request's headers, a token response): no log line carries them (issue #7; test/e2e/log-secrets).
 * Today no log call passes such objects; this is the net under future ones. Paths go two levels deep,
 * e.g. `{ spec: { headers: { authorization } } }`; fast-redact costs nothing for lines without them.
 */
const SECRET_KEYS = ['authorization', 'cookie', 'clientSecret', 'client_secret', 'password', 'token', 'accessToken', 'access_token', 'refreshToken', 'refresh_token', 'apiKey', 'secret'];
const REDACTED_PATHS = [
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
  // Configured upstream headers and stdio env values are secrets whatever their names.
  ...['headers', 'env'].flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
];

/**
 * Structured JSON logs on stdout (or stderr for the stdio front, whose stdout is the protocol).
 * pino is used because it is the fastest structured logger for Node and skips disabled levels cheaply.
 */
export function createLogger(options: { level: LevelWithSilent; destination?: 1 | 2 }): Logger {
  return pino(
    { level: options.level, base: { service: 'gatehouse' }, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    pino.destination({ dest: options.destination ?? 1, sync: false }),
  );
}
