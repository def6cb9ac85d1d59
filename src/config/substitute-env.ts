import { GatehouseError } from '../core/index.js';

const WHOLE_PLACEHOLDER = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

function typedScalar(text: string): unknown {
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}

const PLACEHOLDER = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${VAR}` and `${VAR:-default}` in every string of a parsed document (never in the raw
 * text, so a value cannot inject YAML structure). `$${` is a literal `${`. A variable that is unset
 * and has no default is an error naming where it was used.
 */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: string[] = []): unknown {
  if (typeof value === 'string') {
    const substituted = value.replace(PLACEHOLDER, (match, name: string | undefined, fallback: string | undefined) => {
      if (name === undefined) return '${';
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      throw new GatehouseError(
        'config_invalid',
        `${path.join('.') || '(root)'}: environment variable ${name} is not set; set it or write \${${name}:-default}.`,
      );
    });
    // `port: ${PORT:-8080}` should be a number, as if the value had been written in the file.
    if (substituted !== value && WHOLE_PLACEHOLDER.test(value)) return typedScalar(substituted);
    return substituted;
  }
  if (Array.isArray(value)) return value.map((item, index) => substituteEnv(item, env, [...path, String(index)]));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = substituteEnv(item, env, [...path, key]);
    return out;
  }
  return value;
}
