// npm run policy:generate — writes libs/policy/src/contract.types.ts from libs/policy/contract.schema.json.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import { CONTRACT_TYPES_FILE, contractTypes } from './contract-types';

async function main() {
  const file = join(__dirname, '..', CONTRACT_TYPES_FILE);
  writeFileSync(file, await format(contractTypes(), { ...(await resolveConfig(file)), filepath: file }));
  process.stdout.write(`wrote ${file}\n`);
}

void main();
