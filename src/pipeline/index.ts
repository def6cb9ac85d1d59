export { compileChain } from './filter-chain.js';
export type { Filter, Chain } from './filter-chain.js';
export { CallContext, type CallTarget, type TargetResolver } from './call-context.js';
export { createJwtVerifier, looksLikeJwt, type JwtVerifier, type IssuerOptions } from './authn/index.js';
export { createAuthenticator, type Authenticate, type AuthenticatorOptions } from './authn/authenticator.js';
export { Policies, type PolicyRule, type Permits, type ItemKind } from './authz/index.js';
