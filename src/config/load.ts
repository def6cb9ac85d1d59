import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { GatehouseError, formatIssues } from '../core/index.js';
import { configSchema, type GatehouseConfig } from './schema.js';
import { substituteEnv } from './substitute-env.js';
import { fromClientConfig, isClientConfigDocument } from './client-config-import.js';

/** Reads, substitutes and validates a config file (YAML, or a client's mcpServers JSON). */
export async function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<GatehouseConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new GatehouseError('config_invalid', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}.`);
  }
  return parseConfigText(text, file, env);
}

export function parseConfigText(text: string, source: string, env: NodeJS.ProcessEnv = process.env): GatehouseConfig {
  let document: unknown;
  try {
    // YAML is a superset of JSON, so one parser reads both the YAML file and a client's JSON file.
    document = parseYaml(text, { maxAliasCount: 100 }) ?? {};
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` at line ${error.linePos[0].line}` : '';
    throw new GatehouseError('config_invalid', `${source}${where}: not valid YAML or JSON.`);
  }
  if (isClientConfigDocument(document)) document = fromClientConfig(document as Record<string, unknown>);
  return validateConfig(substituteEnv(document, env), source);
}

export function validateConfig(document: unknown, source = 'config'): GatehouseConfig {
  const result = configSchema.safeParse(document, { reportInput: true });
  if (result.success) return result.data;
  throw new GatehouseError('config_invalid', `${source}:\n${formatIssues(result.error.issues)}`);
}
