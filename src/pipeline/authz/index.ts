export { Policies, type PolicyRule, type Permits, type ItemKind } from './policies.js';
