import type { ClientSession } from './client-session.js';

/**
 * Where live sessions are kept. The memory store is the embedded default; a shared store (Redis) for
 * several replicas implements the same interface (DESIGN principle 3).
 */
export interface SessionStore {
  get(id: string): ClientSession | undefined;
  add(session: ClientSession): void;
  delete(id: string): boolean;
  values(): IterableIterator<ClientSession>;
  readonly size: number;
}

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, ClientSession>();

  get(id: string): ClientSession | undefined {
    return this.sessions.get(id);
  }

  add(session: ClientSession): void {
    this.sessions.set(session.id, session);
  }

  delete(id: string): boolean {
    return this.sessions.delete(id);
  }

  values(): IterableIterator<ClientSession> {
    return this.sessions.values();
  }

  get size(): number {
    return this.sessions.size;
  }
}
