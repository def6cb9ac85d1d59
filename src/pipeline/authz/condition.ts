import { celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import { GatehouseError, type Identity } from '../../core/index.js';

/** What a condition may look at. */
export interface CallFacts {
  readonly server: string;
  readonly kind: string;
  readonly name: string;
  readonly args: unknown;
  readonly identity: Identity;
}

export type Condition = (facts: CallFacts) => boolean;

const env = celEnv();

/**
 * A policy condition in CEL (the Common Expression Language agentgateway and Kubernetes use): small,
 * side-effect free and always terminating, so an operator's expression cannot run arbitrary code.
 * Parsed and planned once; anything but a true result (false, an error, a missing field) is false.
 */
export function compileCondition(expression: string, where: string): Condition {
  let evaluate: ReturnType<typeof plan>;
  try {
    evaluate = plan(env, parse(expression));
  } catch (error) {
    throw new GatehouseError('config_invalid', `${where}: not a valid CEL expression (${(error as Error).message.split('\n')[0]}).`);
  }
  return (facts) => {
    const { identity } = facts;
    const result = evaluate({
      args: toCel(facts.args ?? {}),
      name: facts.name,
      server: facts.server,
      kind: facts.kind,
      user: toCel({
        id: identity.subject,
        name: identity.name ?? '',
        kind: identity.kind,
        groups: [...identity.groups],
        team: identity.team ?? '',
        roles: [...identity.roles],
      }),
    });
    return !isCelError(result) && result === true;
  };
}

/**
 * JSON values as CEL inputs: objects become maps, arrays lists; integers stay numbers (CEL reads them
 * as doubles, so `args.count < 10` works whether a client sent 3 or 3.0).
 */
function toCel(value: unknown): never {
  return JSON.parse(JSON.stringify(value ?? null)) as never;
}
