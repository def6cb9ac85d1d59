import type { ServerResponse } from 'node:http';

/** One stored event, for Last-Event-ID replay. */
interface StoredEvent {
  readonly streamId: number;
  readonly seq: number;
  readonly data: string;
}

/**
 * A bounded per-session ring of recent SSE events (spec §Resumability and Redelivery), allocated on
 * first use so that an idle session that never streams costs nothing.
 */
export class EventStore {
  private events: StoredEvent[] | undefined;
  private next = 0;

  constructor(private readonly capacity: number) {}

  record(streamId: number, seq: number, data: string): void {
    if (this.capacity === 0) return;
    this.events ??= [];
    const event = { streamId, seq, data };
    if (this.events.length < this.capacity) this.events.push(event);
    else {
      this.events[this.next] = event;
      this.next = (this.next + 1) % this.capacity;
    }
  }

  /** Events of `streamId` after `seq`, oldest first. */
  after(streamId: number, seq: number): StoredEvent[] {
    if (!this.events) return [];
    const ordered = [...this.events.slice(this.next), ...this.events.slice(0, this.next)];
    return ordered.filter((event) => event.streamId === streamId && event.seq > seq);
  }
}

export function parseEventId(value: string | undefined): { streamId: number; seq: number } | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)-(\d+)$/.exec(value);
  return match ? { streamId: Number(match[1]), seq: Number(match[2]) } : undefined;
}

/** Writes SSE events with ids `<stream>-<seq>` to a response that can be swapped on resumption. */
export class SseStream {
  private seq = 0;
  response: ServerResponse | undefined;

  constructor(
    readonly streamId: number,
    private readonly store: EventStore,
    response: ServerResponse,
    private readonly onDetach: (stream: SseStream) => void,
    private readonly prime: boolean,
    replayAfter?: number,
  ) {
    this.attach(response, replayAfter);
  }

  /**
   * Points the stream at a (new) response. On resumption, the events after `replayAfter` are sent
   * first and the priming event last, carrying the id of the newest event: a client cut off again
   * right after it resumes from there, and one cut off earlier resumes from what it really got.
   */
  attach(response: ServerResponse, replayAfter?: number): void {
    this.response = response;
    if (!response.headersSent) {
      response.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
      });
    }
    if (replayAfter !== undefined) {
      for (const event of this.store.after(this.streamId, replayAfter)) {
        response.write(`id: ${this.streamId}-${event.seq}\ndata: ${event.data}\n\n`);
      }
    }
    // Spec 2025-11-25 §Resumability: prime the stream with an event id so the client can resume from
    // it. It reuses the newest id (no new sequence number), so nothing can hide behind it. Older
    // clients would try to parse the empty data, so only 2025-11-25 sessions get it.
    if (this.prime) response.write(`id: ${this.streamId}-${this.seq}\ndata: \n\n`);
    response.once('close', () => {
      if (this.response === response) {
        this.response = undefined;
        this.onDetach(this);
      }
    });
  }

  write(data: string): void {
    const seq = ++this.seq;
    this.store.record(this.streamId, seq, data);
    this.response?.write(`id: ${this.streamId}-${seq}\ndata: ${data}\n\n`);
  }

  keepAlive(): void {
    this.response?.write(': keepalive\n\n');
  }

  end(): void {
    const response = this.response;
    this.response = undefined;
    response?.end();
  }
}
