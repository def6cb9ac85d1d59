import type { Readable } from 'node:stream';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

/**
 * Feeds a text/event-stream body into `onEvent`; resolves when the stream ends. Uses 'data' events
 * rather than async iteration: one listener per stream instead of a promise per chunk (hot path).
 */
export function readSse(
  body: Readable,
  onEvent: (event: EventSourceMessage) => void,
  onRetry?: (retryMs: number) => void,
): Promise<void> {
  const parser = createParser(onRetry ? { onEvent, onRetry } : { onEvent });
  // undici's body emits Buffers whatever setEncoding says; decode with a streaming decoder so a
  // multi-byte character split across chunks survives.
  const decoder = new TextDecoder();
  return new Promise((resolve, reject) => {
    body.on('data', (chunk: Uint8Array) => {
      try {
        parser.feed(decoder.decode(chunk, { stream: true }));
      } catch (error) {
        body.destroy(error as Error);
      }
    });
    body.once('end', () => {
      parser.feed(decoder.decode());
      resolve();
    });
    body.once('error', reject);
    // Destroyed by close(): nothing more will come.
    body.once('close', () => resolve());
  });
}
