import { GatehouseError } from '../core/index.js';

/**
 * What the per-program rules of the command policy (command-policy.ts, command-policy-docker.ts) share:
 * the refusal each check throws, and the reader for getopt-style option lists.
 */

export type Field = 'command' | 'args' | 'env' | 'cwd';

export function refuse(command: string, field: Field, reason: string, argument?: string): never {
  const data: Record<string, unknown> = { command, field };
  if (argument !== undefined) data.argument = argument;
  throw new GatehouseError('command_not_allowed', reason, data);
}

// ---------------------------------------------------------------------------------------------------
// Option scanning shared by the per-program rules

export interface Grammar {
  /** Options that take a value: `--name value`, `--name=value`, `-x value`, `-xvalue`, `-abx value`. */
  readonly valued: ReadonlySet<string>;
  /** Options after which everything is the program's (python -m / -c). */
  readonly terminal?: ReadonlySet<string>;
}

export interface ParsedOption {
  readonly name: string;
  readonly value: string | undefined;
  readonly token: string;
}

interface Scan {
  readonly options: ParsedOption[];
  /** Index of the first operand (args.length when there is none). */
  readonly operand: number;
  /** The options ended with `--` or a terminal option, so args[operand] is an operand whatever it looks like. */
  readonly explicit: boolean;
}

/**
 * Reads options from args[start] up to the first operand. Handles the spellings getopt-style tools
 * accept: `--flag=value`, `--flag value`, and grouped short flags (`-pe`, `-it`, `-v/:/host`), where
 * the first valued letter takes the rest of the group or the next argument.
 */
export function scanOptions(args: readonly string[], start: number, grammar: Grammar): Scan {
  const options: ParsedOption[] = [];
  let index = start;
  while (index < args.length) {
    const token = args[index] as string;
    if (token === '--') return { options, operand: index + 1, explicit: true };
    if (token.startsWith('--')) {
      const equals = token.indexOf('=');
      const name = equals === -1 ? token : token.slice(0, equals);
      let value = equals === -1 ? undefined : token.slice(equals + 1);
      if (value === undefined && grammar.valued.has(name)) value = args[++index];
      options.push({ name, value, token });
      index++;
      if (grammar.terminal?.has(name)) return { options, operand: index, explicit: true };
      continue;
    }
    if (token.startsWith('-') && token.length > 1) {
      let terminal = false;
      for (let position = 1; position < token.length; position++) {
        const name = `-${token[position]}`;
        if (grammar.valued.has(name)) {
          const rest = token.slice(position + 1).replace(/^=/, '');
          const value = rest !== '' ? rest : args[++index];
          options.push({ name, value, token });
          terminal = grammar.terminal?.has(name) ?? false;
          break;
        }
        options.push({ name, value: undefined, token });
      }
      index++;
      if (terminal) return { options, operand: index, explicit: true };
      continue;
    }
    return { options, operand: index, explicit: false };
  }
  return { options, operand: index, explicit: false };
}
