export { ClientSession } from './client-session.js';
export type { ClientChannel, SessionView } from './client-session.js';
export { MemorySessionStore } from './session-store.js';
export type { SessionStore } from './session-store.js';
