import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stdout (or stderr for the stdio front, whose stdout is the protocol).
 * pino is used because it is the fastest structured logger for Node and skips disabled levels cheaply.
 */
export function createLogger(options: { level: LevelWithSilent; destination?: 1 | 2 }): Logger {
  return pino(
    { level: options.level, base: { service: 'gatehouse' }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: options.destination ?? 1, sync: false }),
  );
}
