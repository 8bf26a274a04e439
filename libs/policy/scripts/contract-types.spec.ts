import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LaneSchema } from '@countersign/contracts';
import schema from '../contract.schema.json';
import { CONTRACT_TYPES_FILE, contractTypes, contractTypesSource } from './contract-types';

// real: the contract's JSON Schema, the generator and Prettier (its CLI: Jest cannot load Prettier 3's ES modules); fake: nothing.
const root = join(__dirname, '../../..');
const file = join(__dirname, '..', CONTRACT_TYPES_FILE);

/** What `npm run policy:generate` writes: the generated source through Prettier with the repository's settings. */
function formatted(source: string): string {
  const run = spawnSync(join(root, 'node_modules/.bin/prettier'), ['--stdin-filepath', file], { cwd: root, input: source, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout;
}

describe('the operational contract has one schema', () => {
  it('the committed types are what the JSON Schema generates (run npm run policy:generate)', () => {
    expect(readFileSync(file, 'utf8')).toBe(formatted(contractTypes()));
  }, 30_000);

  it("the schema's lanes are the wire's lanes (the generated types use the wire's Lane)", () => {
    expect(schema.definitions.lane.enum).toEqual(LaneSchema.options);
  });

  it('refuses what it cannot type rather than guessing', () => {
    const opts = { rootName: 'X', external: {}, banner: '' };
    expect(() =>
      contractTypesSource({ type: 'object', properties: { a: { type: 'string', format: 'email' } as never }, additionalProperties: false }, opts),
    ).toThrow(/does not know the keyword format/);
    expect(() => contractTypesSource({ type: 'object', properties: { a: { type: 'string' } } }, opts)).toThrow(/additionalProperties: false/);
    expect(() => contractTypesSource({ type: 'object', properties: { a: { $ref: '#/definitions/nope' } }, additionalProperties: false }, opts)).toThrow(
      /no such definition/,
    );
  });

  it('names titled subschemas, documents described fields, and marks optional ones', () => {
    const source = contractTypesSource(
      {
        type: 'object',
        additionalProperties: false,
        required: ['a'],
        properties: {
          a: { title: 'Inner', type: 'object', additionalProperties: false, properties: { b: { enum: ['x', 'y'], description: 'Bee.' } } },
          c: { type: ['string', 'number'] },
        },
      },
      { rootName: 'Outer', external: {}, banner: '// test' },
    );
    expect(source).toContain('export interface Outer {\n  a: Inner;\n  c?: string | number;\n}');
    expect(source).toContain('export interface Inner {\n  /** Bee. */\n  b?: "x" | "y";\n}');
  });
});
