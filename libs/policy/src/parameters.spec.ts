import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { parseContract } from './contract';
import { compileContract, evaluate, ProposalInput } from './evaluate';
import { checkParameters } from './parameters';
import { compiledProjectContract, OPEN_INPUTS, PROJECT_CONTRACT, projectContract, proposalOf } from './spec-fixtures';

// real: the project's contract, checkParameters and evaluate; fake: nothing.
const contract = projectContract;
const compiled = compiledProjectContract;
const OK = OPEN_INPUTS;
const proposal = proposalOf;
const refund = (amount: unknown, rest: Record<string, unknown> = { currency: 'EUR', reason: 'late' }) =>
  proposal('support.refund', amount === undefined ? rest : { amount, ...rest });

describe('checkParameters', () => {
  it('names the JSON pointer and the rule of each problem', () => {
    expect(checkParameters(compiled, { actionType: 'support.refund', parameters: { amount: '75', currency: 'EUR', reason: 'r' } })).toEqual([
      { pointer: '/parameters/amount', rule: 'type', message: expect.any(String) },
    ]);
    expect(checkParameters(compiled, { actionType: 'support.refund', parameters: { amount: -5000, currency: 'EUR', reason: 'r' } })).toEqual([
      { pointer: '/parameters/amount', rule: 'exclusiveMinimum', message: 'must be > 0' },
    ]);
    expect(checkParameters(compiled, { actionType: 'support.refund', parameters: { amount: 5, currency: 'EURO', reason: 'r' } })).toEqual([
      { pointer: '/parameters/currency', rule: 'currency', message: expect.any(String) },
    ]);
    expect(checkParameters(compiled, { actionType: 'support.refund', parameters: { amount: 5, reason: 'r' } })).toEqual([
      { pointer: '/parameters/currency', rule: 'required', message: expect.any(String) },
    ]);
    expect(checkParameters(compiled, { actionType: 'support.refund', parameters: { amount: 5, currency: 'EUR', reason: 'r', 'a/b~c': 1 } })).toEqual([
      { pointer: '/parameters/a~1b~0c', rule: 'additionalProperties', message: expect.any(String) },
    ]);
    expect(checkParameters(compiled, { actionType: 'ticket.tag', parameters: [] })).toEqual([
      { pointer: '/parameters', rule: 'type', message: 'must be object' },
    ]);
  });

  it('refuses a refund or payout of 0 or -0, which moves no money, and takes the smallest amount above it (red team, 2026-12-06: a refund of 0 executed)', () => {
    const check = (actionType: string, amount: number, rest: Record<string, unknown>) =>
      checkParameters(compiled, { actionType, parameters: { amount, currency: 'EUR', ...rest } });
    for (const [actionType, rest] of [
      ['support.refund', { reason: 'r' }],
      ['payments.payout', { iban: 'DE89370400440532013000' }],
    ] as const) {
      for (const amount of [0, -0])
        expect({ actionType, amount, problems: check(actionType, amount, rest) }).toEqual({
          actionType,
          amount,
          problems: [{ pointer: '/parameters/amount', rule: 'exclusiveMinimum', message: 'must be > 0' }],
        });
      expect(check(actionType, 0.01, rest)).toEqual([]);
    }
  });

  it('takes a money bound only as a number: a mistyped one stops the contract loading', () => {
    const text = readFileSync(PROJECT_CONTRACT, 'utf8');
    const REFUND_AMOUNT = 'amount: { money: { currency: currency, exclusiveMinimum: 0 } }';
    expect(text).toContain(REFUND_AMOUNT);
    const withBound = (bound: string) => () =>
      compileContract(parseContract(text.replace(REFUND_AMOUNT, `amount: { money: { currency: currency, exclusiveMinimum: ${bound} } }`), 'x.yaml'));
    expect(withBound('1')).not.toThrow();
    expect(withBound('"0"')).toThrow(/exclusiveMinimum/);
  });

  it('refuses an amount finer than its currency’s minor unit, and accepts what is written in whole minor units (red team, 2026-12-02)', () => {
    const check = (amount: number, currency: string) =>
      checkParameters(compiled, { actionType: 'support.refund', parameters: { amount, currency, reason: 'r' } });
    expect(check(20.001, 'EUR')).toEqual([
      { pointer: '/parameters/amount', rule: 'minorUnit', message: "must be a whole number of EUR's minor unit (at most 2 decimal places)" },
    ]);
    expect(check(5.5, 'JPY')).toEqual([{ pointer: '/parameters/amount', rule: 'minorUnit', message: expect.stringContaining('at most 0 decimal places') }]);
    expect(check(1.0005, 'KWD')).toEqual([{ pointer: '/parameters/amount', rule: 'minorUnit', message: expect.stringContaining('at most 3') }]);
    // Finer by a hair is finer (red team, 2026-12-04: a tolerance for binary doubles let these through).
    for (const amount of [50.0000000001, 50.00000000000001, 0.010000001])
      expect({ amount, rule: check(amount, 'EUR')[0]?.rule }).toEqual({ amount, rule: 'minorUnit' });
    // Binary doubles: 20.01 × 100 is 2000.9999999999998; as written it is whole cents.
    for (const [amount, currency] of [
      [20.01, 'EUR'],
      [0.07, 'USD'],
      [9e13 + 0.25, 'EUR'],
      [1234, 'JPY'],
      [1.005, 'KWD'],
      [0.123456, 'XAU'],
    ] as const)
      expect({ amount, currency, problems: check(amount, currency) }).toEqual({ amount, currency, problems: [] });
  });

  it('refuses an amount past what a double counts exactly in minor units as too large, not as too precise (red team, 2026-12-04)', () => {
    const check = (amount: number, currency: string) =>
      checkParameters(compiled, { actionType: 'support.refund', parameters: { amount, currency, reason: 'r' } });
    const tooLarge = (currency: string) => [
      {
        pointer: '/parameters/amount',
        rule: 'maximum',
        message: `must be at most ${Number.MAX_SAFE_INTEGER} of ${currency}'s minor unit (an amount a payment system can count exactly)`,
      },
    ];
    expect(check(1e308, 'EUR')).toEqual(tooLarge('EUR'));
    expect(check(1e15 + 0.25, 'EUR')).toEqual(tooLarge('EUR'));
    expect(check(1e20, 'JPY')).toEqual(tooLarge('JPY'));
  });

  it('accepts valid parameters, and says nothing about an action type the contract does not know', () => {
    expect(
      checkParameters(compiled, { actionType: 'support.refund', parameters: { amount: 12.5, currency: 'EUR', reason: 'late', customerId: 'c-1' } }),
    ).toEqual([]);
    expect(checkParameters(compiled, { actionType: 'crypto.transfer', parameters: 'anything' })).toEqual([]);
  });

  it('refuses nesting deeper than the limit without walking it', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 10_000; i++) deep = { d: deep };
    expect(checkParameters(compiled, { actionType: 'infra.deployment_manifest_change', parameters: { replicas: 1, deep } })).toEqual([
      { pointer: '/parameters', rule: 'maxDepth', message: expect.any(String) },
    ]);
  });
});

describe('an unreadable amount is never harmless', () => {
  it.each([
    ['the string "75"', '75'],
    ['the string " 75 "', ' 75 '],
    ['the string "NaN"', 'NaN'],
    ['an array', [75]],
    ['an object', { value: 75 }],
    ['null', null],
    ['true', true],
    ['a negative amount', -5000],
    ['a non-finite amount (1e309)', Number('1e309')],
    ['NaN', NaN],
  ])('%s is prohibited as invalid_parameters, naming the pointer', (_, amount) => {
    const d = evaluate(compiled, refund(amount), OK);
    expect(d).toMatchObject({ lane: 'prohibited', decidedBy: 'prohibited-rule' });
    expect(d.rulesFired[0]).toBe('invalid_parameters');
    expect(d.reasons[0]).toMatch(/^invalid_parameters: \/parameters\/amount /);
  });

  it('a missing amount, or a missing currency, is prohibited', () => {
    expect(evaluate(compiled, refund(undefined), OK)).toMatchObject({ lane: 'prohibited', rulesFired: expect.arrayContaining(['invalid_parameters']) });
    const noCurrency = evaluate(compiled, refund(40, { reason: 'late' }), OK);
    expect(noCurrency).toMatchObject({ lane: 'prohibited', reasons: expect.arrayContaining([expect.stringMatching(/\/parameters\/currency/)]) });
  });

  it('a proposal whose own fields cannot be read is prohibited, not scored as harmless', () => {
    const good = { amount: 10, currency: 'EUR', reason: 'late' };
    for (const over of [{ confidence: '0.99' }, { confidence: NaN }, { target: 42 }, { tenant: null }, { proposer: 'me' }, { context: [] }]) {
      expect(evaluate(compiled, proposal('support.refund', good, over), OK)).toMatchObject({
        lane: 'prohibited',
        rulesFired: expect.arrayContaining(['invalid_proposal']),
      });
    }
  });

  it('deep nesting in parameters or context is prohibited, never a stack overflow', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 20_000; i++) deep = [deep];
    expect(evaluate(compiled, proposal('ticket.tag', { tags: ['a'], deep }), OK)).toMatchObject({ lane: 'prohibited', rulesFired: ['invalid_proposal'] });
    expect(evaluate(compiled, proposal('ticket.tag', { tags: ['a'] }, { context: { deep } }), OK)).toMatchObject({
      lane: 'prohibited',
      rulesFired: ['invalid_proposal'],
    });
  });

  it('evaluate never throws on whatever it is given, and prohibits what it cannot read', () => {
    for (const junk of [
      null,
      undefined,
      42,
      'support.refund',
      [],
      [1, 2],
      true,
      { actionType: null },
      { actionType: ['support.refund'] },
      Object.create(null),
    ]) {
      expect(evaluate(compiled, junk as unknown as ProposalInput, OK).lane).toBe('prohibited');
    }
    expect(evaluate(compiled, refund(10), { ...OK, now: 'not a date' as unknown as Date }).lane).toBe('prohibited');
  });
});

describe('the contract declares a schema per action type', () => {
  const base = (params: string) =>
    `version: 1\nservice: { name: s, model: { type: llm, version: "1" }, dataSources: [], owners: { product: a, platform: b, security: c, sre: d } }\nslaClasses: { normal: 60 }\nactions:\n  support.refund: { owner: o, reversibility: reversible, customerImpact: low, regulatorySensitivity: none, blastRadius: single, lane: autonomous, reason: r${params} }\n`;

  it('refuses a contract without a schema, without an additionalProperties decision, or with an invalid schema, naming the action', () => {
    expect(() => parseContract(base(''), 'c.yaml')).toThrow(/c\.yaml:\d+: actions\.support\.refund: must have required property 'parameters'/);
    expect(() => parseContract(base(', parameters: { type: object }'), 'c.yaml')).toThrow(/actions\.support\.refund\.parameters: decide additionalProperties/);
    expect(() =>
      parseContract(base(', parameters: { type: object, additionalProperties: false, properties: { a: { type: string, minLenght: 1 } } }'), 'c.yaml'),
    ).toThrow(/not a valid parameter schema: .*minLenght/);
    expect(() =>
      parseContract(base(', parameters: { type: object, additionalProperties: false, properties: { a: { money: { currency: c } } } }'), 'c.yaml'),
    ).toThrow(/money fields need a money section/);
  });
});

describe('property: whatever the parameters, evaluate never throws and anything failing checkParameters is prohibited', () => {
  const types = [...Object.keys(contract.actions), 'unknown.action'];
  const value = fc.oneof(
    fc.anything(),
    fc.constantFrom(75, '75', ' 75 ', 'NaN', -5000, Number.POSITIVE_INFINITY, NaN, 1e308, 0, 'EUR', 'KWD', 'JPY', 'XYZ', 'eur'),
  );
  const parameters = fc.oneof(
    fc.anything(),
    fc.dictionary(
      fc.constantFrom(
        'amount',
        'currency',
        'reason',
        'body',
        'tags',
        'fields',
        'destination',
        'recipients',
        'template',
        'sql',
        'card',
        'customerId',
        'pullRequest',
        'x',
      ),
      value,
    ),
  );
  const field = <T>(good: T) => fc.oneof({ weight: 4, arbitrary: fc.constant(good) }, { weight: 1, arbitrary: fc.anything() });
  const arb = fc.record({
    actionType: fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...types) }, { weight: 1, arbitrary: fc.anything() }),
    target: field('order-1'),
    parameters,
    proposer: field({ agentId: 'a', model: { name: 'm', version: '1' }, promptTemplateVersion: 'p' }),
    confidence: fc.oneof(fc.double(), fc.anything()),
    tenant: field('acme'),
    region: field('eu-west'),
    context: field({}),
  });

  it('holds for thousands of proposals', () => {
    fc.assert(
      fc.property(arb, (p) => {
        const d = evaluate(compiled, p as unknown as ProposalInput, OK);
        expect(['autonomous', 'review', 'prohibited']).toContain(d.lane);
        if (typeof p.actionType === 'string' && checkParameters(compiled, p as { actionType: string; parameters: unknown }).length > 0)
          expect(d.lane).toBe('prohibited');
        if (d.lane === 'autonomous') expect(checkParameters(compiled, p as { actionType: string; parameters: unknown })).toEqual([]);
      }),
      { numRuns: 3000 },
    );
  });
});
