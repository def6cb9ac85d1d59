export * from './server-spec.js';
export type * from './store.js';
