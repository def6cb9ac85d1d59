import { GatehouseError, formatIssues } from '../core/index.js';
import { checkStdioRegistration } from './command-policy.js';
import type { RegistryOptions } from './registry.js';
import { serverSchema, virtualServerSchema, type ServerSpec, type VirtualServerSpec } from './server-spec.js';

/**
 * Servers and virtual servers as registry records: the validation an API body gets beyond the zod
 * schema, and the masking of credentials in what is stored and shown. The Registry keeps them
 * (registry.ts); this is what it needs that does not depend on its state.
 */

/** A server body from the admin API; a stdio one only when registering stdio servers is on and its command allowed. */
export function validServer(input: unknown, stdioRegistration: RegistryOptions['stdioRegistration']): ServerSpec {
  const parsed = serverSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) throw new GatehouseError('invalid_body', `\n${formatIssues(parsed.error.issues)}`);
  const spec = parsed.data;
  if (spec.transport === 'stdio') {
    if (!stdioRegistration.enabled) {
      throw new GatehouseError(
        'command_not_allowed',
        'Registering stdio servers through the API is off (registry.stdioRegistration.enabled); declare it in the config file, or register an HTTP server.',
        { command: spec.command },
      );
    }
    checkStdioRegistration(spec, { allowedCommands: stdioRegistration.allowedCommands });
  }
  return spec;
}

/** A virtual server body from the admin API. */
export function validVirtual(input: unknown): VirtualServerSpec {
  const parsed = virtualServerSchema.safeParse(input, { reportInput: true });
  if (!parsed.success) throw new GatehouseError('invalid_body', `\n${formatIssues(parsed.error.issues)}`);
  return parsed.data;
}

/** Header and env values are credentials: records shown or logged keep their names, never their values. */
export function maskSecrets(spec: ServerSpec): ServerSpec {
  const mask = (values: Record<string, string>): Record<string, string> => Object.fromEntries(Object.keys(values).map((key) => [key, MASK]));
  if (spec.transport === 'stdio') return { ...spec, env: mask(spec.env) };
  return {
    ...spec,
    headers: mask(spec.headers),
    ...(spec.oauth !== undefined ? { oauth: { ...spec.oauth, clientSecret: MASK } } : {}),
    ...(spec.userAuth?.clientSecret !== undefined ? { userAuth: { ...spec.userAuth, clientSecret: MASK } } : {}),
  };
}

export const MASK = '***';
