import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceMessage, type EventSourceParser } from 'eventsource-parser';

/**
 * A text/event-stream body fed chunk by chunk (Buffers, as undici delivers them), events out as they
 * complete. Decodes with a streaming StringDecoder so a multi-byte character split across chunks
 * survives; StringDecoder rather than TextDecoder: it decodes in C++ without a per-chunk options
 * object and typed-array view (callgrind, C=1 echo: ~7k fewer instructions per call, about 2% of the
 * gateway's).
 */
export class SseDecoder {
  private readonly parser: EventSourceParser;
  private readonly decoder = new StringDecoder('utf8');
  private first = true;

  constructor(onEvent: (event: EventSourceMessage) => void, onRetry?: (retryMs: number) => void) {
    this.parser = createParser(onRetry ? { onEvent, onRetry } : { onEvent });
  }

  feed(chunk: Buffer): void {
    let text = this.decoder.write(chunk);
    if (this.first && text.length > 0) {
      this.first = false;
      // The UTF-8 decode the SSE spec names drops a leading BOM (TextDecoder did the same).
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.parser.feed(text);
  }

  end(): void {
    this.parser.feed(this.decoder.end());
  }
}

/**
 * Feeds a text/event-stream body into `onEvent`; resolves when the stream ends. Uses 'data' events
 * rather than async iteration: one listener per stream instead of a promise per chunk.
 */
export function readSse(
  body: Readable,
  onEvent: (event: EventSourceMessage) => void,
  onRetry?: (retryMs: number) => void,
): Promise<void> {
  const decoder = new SseDecoder(onEvent, onRetry);
  return new Promise((resolve, reject) => {
    body.on('data', (chunk: Buffer) => {
      try {
        decoder.feed(chunk);
      } catch (error) {
        body.destroy(error as Error);
      }
    });
    body.once('end', () => {
      decoder.end();
      resolve();
    });
    body.once('error', reject);
    // Destroyed by close(): nothing more will come.
    body.once('close', () => resolve());
  });
}
