export { compileChain } from './filter-chain.js';
export type { Filter, Chain } from './filter-chain.js';
