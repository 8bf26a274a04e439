import { readFileSync } from 'node:fs';
import { parseContract } from './contract';
import { compileContract, evaluate } from './evaluate';
import { compiledProjectContract, OPEN_INPUTS, PROJECT_CONTRACT, projectContract, proposalOf } from './spec-fixtures';

// real: the project's contract (reference EUR, its rate table) and evaluate; fake: nothing.
const CONTRACT = PROJECT_CONTRACT;
const contract = projectContract;
const compiled = compiledProjectContract;
const OK = OPEN_INPUTS;
const refund = (amount: number, currency: string) => proposalOf('support.refund', { amount, currency, reason: 'late delivery' });

describe('money thresholds compare in the reference currency', () => {
  it('a refund of 45 KWD (about 135 EUR) does not pass the 50-unit threshold', () => {
    const d = evaluate(compiled, refund(45, 'KWD'), OK);
    expect(d).toMatchObject({ lane: 'review', rulesFired: expect.arrayContaining(['score:amount-over-50', 'threshold:review']) });
    expect(evaluate(compiled, refund(45, 'EUR'), OK).lane).toBe('autonomous');
  });

  it('JPY amounts are judged by their converted value, not their raw number', () => {
    // 8,000 JPY is about 49 EUR: a small refund, although 8000 > 1000.
    expect(evaluate(compiled, refund(8000, 'JPY'), OK)).toMatchObject({ lane: 'autonomous', score: 0 });
    // 2,000,000 JPY is about 12,200 EUR: the very-large rule with its quorum of two.
    expect(evaluate(compiled, refund(2_000_000, 'JPY'), OK)).toMatchObject({
      lane: 'review',
      review: { quorum: 2 },
      rulesFired: expect.arrayContaining(['refund-very-large']),
    });
  });

  it('a currency outside the rate table is at least review, never scored as zero', () => {
    const d = evaluate(compiled, refund(1, 'BRL'), OK);
    expect(d).toMatchObject({ lane: 'review', rulesFired: expect.arrayContaining(['money:unknown-currency']) });
    const strict = compileContract(
      parseContract(readFileSync(CONTRACT, 'utf8').replace('unknownCurrency: review', 'unknownCurrency: prohibited'), 'strict.yaml'),
    );
    expect(evaluate(strict, refund(1, 'BRL'), OK).lane).toBe('prohibited');
  });

  it('a code that is not ISO 4217 is invalid, whatever its case', () => {
    for (const c of ['XYZ', 'eur', 'Euro', ''])
      expect(evaluate(compiled, refund(10, c), OK)).toMatchObject({ lane: 'prohibited', rulesFired: expect.arrayContaining(['invalid_parameters']) });
  });

  it('the rate table is part of the versioned contract: it changes the hash, and a bad table does not load', () => {
    const text = readFileSync(CONTRACT, 'utf8');
    expect(parseContract(text.replace('KWD: 3.0', 'KWD: 3.1'), 'x.yaml').hash).not.toBe(contract.hash);
    expect(() => parseContract(text.replace('EUR: 1,', 'EUR: 1.1,'), 'x.yaml')).toThrow(/reference currency EUR must be in the table at rate 1/);
    expect(() => parseContract(text.replace('KWD: 3.0', 'KWD: -3'), 'x.yaml')).toThrow(/money/);
    expect(() => parseContract(text.replace('KWD: 3.0', 'KWD: 3.0, ABC: 1'), 'x.yaml')).toThrow(/ABC is not an ISO 4217 currency code/);
  });
});
