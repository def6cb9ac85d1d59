import { createParser, type EventSourceMessage } from 'eventsource-parser';

/** Feeds a byte stream of text/event-stream into `onEvent`; resolves when the stream ends. */
export async function readSse(
  body: AsyncIterable<Uint8Array>,
  onEvent: (event: EventSourceMessage) => void,
  onRetry?: (retryMs: number) => void,
): Promise<void> {
  const parser = createParser(onRetry ? { onEvent, onRetry } : { onEvent });
  const decoder = new TextDecoder();
  for await (const chunk of body) parser.feed(decoder.decode(chunk, { stream: true }));
  parser.feed(decoder.decode());
}
