import { z } from 'zod';
import { configSchema } from './schema.js';

/** The JSON Schema editors use to complete and check gatehouse.yaml, generated from the zod schema. */
export function configJsonSchemaText(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ ...schema, title: 'Gatehouse configuration' }, null, 2)}\n`;
}
