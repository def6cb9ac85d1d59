// Writes schema/openapi.json from the admin API's routes and zod schemas (CONVENTIONS rule 5).
// `npm test` fails when the checked-in file differs from what this produces.
import { writeFileSync } from 'node:fs';
import { openApiDocumentText } from '../src/admin/index.js';

writeFileSync(new URL('../schema/openapi.json', import.meta.url), openApiDocumentText());
