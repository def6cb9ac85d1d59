import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
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
  // multi-byte character split across chunks survives. StringDecoder, not TextDecoder: it decodes
  // in C++ without a per-chunk options object and typed-array view (callgrind, C=1 echo: ~7k fewer
  // instructions per call, about 2% of the gateway's).
  const decoder = new StringDecoder('utf8');
  let first = true;
  return new Promise((resolve, reject) => {
    body.on('data', (chunk: Buffer) => {
      try {
        let text = decoder.write(chunk);
        if (first && text.length > 0) {
          first = false;
          // The UTF-8 decode the SSE spec names drops a leading BOM (TextDecoder did the same).
          if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        }
        parser.feed(text);
      } catch (error) {
        body.destroy(error as Error);
      }
    });
    body.once('end', () => {
      parser.feed(decoder.end());
      resolve();
    });
    body.once('error', reject);
    // Destroyed by close(): nothing more will come.
    body.once('close', () => resolve());
  });
}
