// Writes schema/gatehouse.schema.json from the config's zod schema (CONVENTIONS rule 5).
// `npm test` fails when the checked-in file differs from what this produces.
import { writeFileSync } from 'node:fs';
import { configJsonSchemaText } from '../src/config/json-schema.js';

writeFileSync(new URL('../schema/gatehouse.schema.json', import.meta.url), configJsonSchemaText());
