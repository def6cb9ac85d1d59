export * from './jsonrpc.js';
export { exceedsDepth } from './depth.js';
export * from './versions.js';
export * from './methods.js';
export { adaptToolResultForRevision } from './content-bridge.js';
