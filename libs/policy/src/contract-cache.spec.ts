import { readFileSync } from 'node:fs';
import { ContractError, parseContract } from './contract';
import { compileParameterSchema } from './parameters';
import { PROJECT_CONTRACT } from './spec-fixtures';

// real: the project's contract, parsed; fake: nothing. A text parsed before is not parsed again (each caller gets a copy),
// and a parameter schema compiled before is not compiled again: the embedded mode's services load one contract six times.
const text = readFileSync(PROJECT_CONTRACT, 'utf8');

describe('a contract parsed before', () => {
  it('is the same contract again, but a copy of its own: what one caller changes, the next does not see', () => {
    const first = parseContract(text, 'shared.yaml');
    const again = parseContract(text, 'shared.yaml');
    expect(again).toEqual(first);
    expect(again).not.toBe(first);
    const type = Object.keys(first.actions)[0];
    delete (first.actions as Record<string, unknown>)[type];
    first.version = 'changed by a caller';
    const third = parseContract(text, 'shared.yaml');
    expect(Object.keys(third.actions)).toContain(type);
    expect(third.version).toBe(again.version);
    expect(third).toEqual(again);
  });

  it('keeps the name it was read under: the same text under another name names that one', () => {
    expect(parseContract(text, 'a.yaml').file).toBe('a.yaml');
    expect(parseContract(text, 'b.yaml').file).toBe('b.yaml');
  });

  it('is refused each time when it is refused: a refusal is never remembered as a contract', () => {
    const bad = text.replace(/^version: .*$/m, 'version: 2026.20');
    expect(bad).not.toBe(text);
    for (let i = 0; i < 2; i++) expect(() => parseContract(bad, 'bad.yaml')).toThrow(ContractError);
  });
});

describe('a parameter schema compiled before', () => {
  const schema = () => ({ type: 'object', additionalProperties: false, properties: { n: { type: 'integer', minimum: 1 } } });

  it('is one validator for the same schema, whichever object carries it; another schema is another validator', () => {
    const one = compileParameterSchema(schema());
    expect(compileParameterSchema(schema())).toBe(one);
    const other = compileParameterSchema({ ...schema(), properties: { n: { type: 'integer', minimum: 2 } } });
    expect(other).not.toBe(one);
    expect(one({ n: 1 })).toBe(true);
    expect(other({ n: 1 })).toBe(false);
  });

  it('is still refused when it is not a valid schema, each time', () => {
    for (let i = 0; i < 2; i++) expect(() => compileParameterSchema({ type: 'object', properties: { n: { type: 'nonsense' } } })).toThrow();
  });
});
