import fc from 'fast-check';
import { cardNumberValid, findRegulatedData, regulatedKinds } from './detectors';
import { maskDeep } from './masking';

const SECRETS = [
  '4111.1111.1111.1111',
  '5500 0055 5555 5559',
  '340000000000009',
  'de89370400440532013000',
  'GB82 WEST 1234 5698 7654 32',
  'jane.doe@example.org',
  '+49 30 1234567',
  '123-45-6789',
];

describe('detecting regulated data', () => {
  it('names the kind and the JSON pointer of each regulated value, never the value', () => {
    const proposal = {
      actionType: 'support.reply',
      target: 'ticket-1003',
      parameters: {
        body: 'Your card 4111.1111.1111.1111 was refunded to de89370400440532013000; questions to jane.doe@example.org or +49 30 1234567.',
        cards: [4111111111111111],
        'a/b': { ssn: '123-45-6789' },
      },
      context: { 'john@example.org': 'vip' },
    };
    const found = findRegulatedData(proposal);
    expect(found).toEqual(
      expect.arrayContaining([
        { kind: 'card', path: '/parameters/body' },
        { kind: 'iban', path: '/parameters/body' },
        { kind: 'email', path: '/parameters/body' },
        { kind: 'phone', path: '/parameters/body' },
        { kind: 'card', path: '/parameters/cards/0' },
        { kind: 'us-ssn', path: '/parameters/a~1b/ssn' },
        { kind: 'email', path: '/context/j***@[email]' },
      ]),
    );
    expect(found).toHaveLength(7);
    const json = JSON.stringify(found);
    for (const secret of ['4111', 'de8937', 'jane.doe', 'john@example.org', '1234567', '123-45-6789']) expect(json).not.toContain(secret);
  });

  it('applies the contract national-id patterns', () => {
    expect(findRegulatedData({ note: 'id AB-123456-C' }, { nationalIds: [{ name: 'test-id', pattern: /\bAB-\d{6}-C\b/g }] })).toEqual([
      { kind: 'test-id', path: '/note' },
    ]);
  });

  it('finds nothing in an ordinary proposal: order ids, amounts, dates, UUIDs, digests', () => {
    const proposal = {
      actionType: 'support.refund',
      target: 'order-77',
      parameters: { amount: 12.5, currency: 'EUR', reason: 'late delivery, promised 2026-11-24', orderId: 'order-77', placedAt: '2026-11-20T09:30:00.000Z' },
      proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' } },
      context: { ticket: '3f2a9c1b-1234-5678-9012-abcdef012345', digest: 'a'.repeat(64), epochMs: 1764000000000 },
    };
    expect(findRegulatedData(proposal)).toEqual([]);
  });

  it('never throws on deep input: what is too deep to scan is itself a finding (fail closed)', () => {
    let deep: unknown = 'plain';
    for (let i = 0; i < 50_000; i++) deep = [deep];
    expect(findRegulatedData(deep)).toEqual([{ kind: 'too-deep', path: `/${Array(200).fill('0').join('/')}` }]);
  });

  it('card numbers come from a card network: millisecond timestamps and counters are not cards', () => {
    expect(cardNumberValid('4111111111111111')).toBe(true);
    expect(cardNumberValid('1764000000000')).toBe(false); // Luhn-valid, but a 13-digit card starts with 4
    expect(cardNumberValid('4222222222222')).toBe(true);
  });

  it('finds what masking hides, and masked data has nothing left to find (property)', () => {
    const text = fc.oneof(
      fc.string(),
      fc.constantFrom(...SECRETS),
      fc.tuple(fc.string(), fc.constantFrom(...SECRETS), fc.string()).map(([a, s, b]) => `${a} ${s} ${b}`),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        text,
        fc.integer(),
        fc.constant(4111111111111111),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(text, tie('node'), { maxKeys: 3 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        const masked = maskDeep(v);
        expect(findRegulatedData(masked)).toEqual([]);
        if (findRegulatedData(v).length === 0) expect(masked).toEqual(v);
      }),
      { numRuns: 500 },
    );
  });

  it('names the same kinds without the paths (what a decision reads), also for deep input and custom ids (property)', () => {
    const kindsOf = (v: unknown, o = {}) => [...new Set(findRegulatedData(v, o).map((f) => f.kind))].sort();
    const custom = { nationalIds: [{ name: 'test-id', pattern: /\bAB-\d{6}-C\b/g }] };
    let deep: unknown = 'jane@example.org';
    for (let i = 0; i < 300; i++) deep = [deep];
    for (const v of [{ a: 'x' }, deep, { note: 'id AB-123456-C', 'mail@example.org': [4111111111111111] }, { digest: '+49 30 1234567' }])
      for (const o of [{}, custom]) expect(regulatedKinds(v, o)).toEqual(kindsOf(v, o));
    expect(regulatedKinds({ body: 'to jane.doe@example.org, card 4111 1111 1111 1111' })).toEqual(['card', 'email']);
    const text = fc.oneof(fc.string(), fc.constantFrom(...SECRETS));
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, text, fc.integer(), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(text, tie('node'), { maxKeys: 3 })),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        expect(regulatedKinds(v)).toEqual(kindsOf(v));
      }),
      { numRuns: 300 },
    );
  });
});
