import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * A copy of the audit trail beside the store: one JSON object a line, for a log shipper (a file it
 * tails, or stdout for a container runtime). Records arrive already redacted, a batch at a time.
 */
export interface AuditSink {
  write(records: readonly object[]): void;
  close(): Promise<void>;
}

/** `-` or `stdout` is the process's stdout; anything else a file, appended to (created with its folder). */
export async function openJsonLinesSink(path: string): Promise<AuditSink> {
  if (path === '-' || path === 'stdout') {
    return {
      write: (records) => {
        if (records.length > 0) process.stdout.write(lines(records));
      },
      close: async () => undefined,
    };
  }
  await mkdir(dirname(path), { recursive: true });
  const stream: WriteStream = createWriteStream(path, { flags: 'a', mode: 0o600 });
  // A full disk or a removed folder must not end the gateway: the store keeps the trail regardless.
  let failed: Error | undefined;
  stream.on('error', (error) => (failed = error));
  let closing: Promise<void> | undefined;
  return {
    write: (records) => {
      if (records.length > 0 && failed === undefined && closing === undefined) stream.write(lines(records));
    },
    close: () => (closing ??= new Promise<void>((resolve) => stream.end(() => resolve()))),
  };
}

function lines(records: readonly object[]): string {
  let text = '';
  for (const record of records) text += `${JSON.stringify(record)}\n`;
  return text;
}
