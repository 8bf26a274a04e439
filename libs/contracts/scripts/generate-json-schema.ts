// npm run contracts:generate — writes libs/contracts/json-schema/<topic>.json from the zod schemas.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonSchemas } from '../src/json-schema';

const dir = join(__dirname, '../json-schema');
mkdirSync(dir, { recursive: true });
for (const [topic, schema] of Object.entries(jsonSchemas())) writeFileSync(join(dir, `${topic}.json`), `${JSON.stringify(schema, null, 2)}\n`);
process.stdout.write(`wrote ${Object.keys(jsonSchemas()).length} JSON Schema files to ${dir}\n`);
