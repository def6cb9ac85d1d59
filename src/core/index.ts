export { GatehouseError, RpcCode, toGatehouseError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { randomToken } from './ids.js';
export { ResourceStack } from './resource-stack.js';
export { lineSplitter } from './line-splitter.js';
export { GATEWAY_VERSION } from './version.js';
export { formatIssues } from './zod-issues.js';
export { readBody } from './read-body.js';
export { ANONYMOUS, presentedToken, samePrincipal, withPresentedToken, type Identity } from './identity.js';
