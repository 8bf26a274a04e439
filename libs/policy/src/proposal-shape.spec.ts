import { ProposalSchema } from '@countersign/contracts';
import { certainlyValidProposal } from './proposal-shape';

const valid = () => ({
  actionType: 'support.refund',
  target: 'order-1',
  parameters: { amount: 12.5, currency: 'EUR', reason: 'late\ndelivery', items: [{ sku: 'a', qty: 1 }], note: null, urgent: true },
  proposer: { agentId: 'agent-1', model: { name: 'm', version: '1' }, promptTemplateVersion: 'p1' },
  confidence: 0.9,
  tenant: 'acme',
  region: 'eu-west',
  context: { classification: 'internal' },
});

const nest = (levels: number): unknown => (levels === 0 ? 'x' : { k: nest(levels - 1) });

// Each a change that the schema refuses: the fast check must never call any of them valid.
const invalid: Array<[string, (p: ReturnType<typeof valid>) => unknown]> = [
  ['an action type that is not dotted', (p) => ({ ...p, actionType: 'refund' })],
  ['an upper-case action type', (p) => ({ ...p, actionType: 'Support.refund' })],
  ['an empty target', (p) => ({ ...p, target: '' })],
  ['a target with a zero-width space', (p) => ({ ...p, target: 'order\u200b1' })],
  ['a target of 201 characters', (p) => ({ ...p, target: 'x'.repeat(201) })],
  ['a target of one space', (p) => ({ ...p, target: ' ' })],
  ['a target with a leading space', (p) => ({ ...p, target: ' order-1' })],
  ['a tenant with a trailing no-break space', (p) => ({ ...p, tenant: 'acme\u00a0' })],
  ['a region with a trailing tab', (p) => ({ ...p, region: 'eu-west\t' })],
  ['an agent id with a leading ideographic space', (p) => ({ ...p, proposer: { ...p.proposer, agentId: '\u3000agent-1' } })],
  ['a prompt template version of spaces', (p) => ({ ...p, proposer: { ...p.proposer, promptTemplateVersion: '   ' } })],
  ['a model name with a trailing space', (p) => ({ ...p, proposer: { ...p.proposer, model: { name: 'm ', version: '1' } } })],
  ['a tenant with a control character', (p) => ({ ...p, tenant: 'ac\u0001me' })],
  ['a missing region', ({ region: _, ...p }) => p],
  ['a confidence above 1', (p) => ({ ...p, confidence: 1.01 })],
  ['a negative confidence', (p) => ({ ...p, confidence: -0.1 })],
  ['a NaN confidence', (p) => ({ ...p, confidence: NaN })],
  ['a confidence given as a string', (p) => ({ ...p, confidence: '0.5' })],
  ['parameters as an array', (p) => ({ ...p, parameters: [1] })],
  ['null parameters', (p) => ({ ...p, parameters: null })],
  ['a parameter text with a control character', (p) => ({ ...p, parameters: { reason: 'a\u0007b' } })],
  ['a parameter key with a bidi override', (p) => ({ ...p, parameters: { ['a\u202eb']: 1 } })],
  ['an infinite parameter', (p) => ({ ...p, parameters: { amount: Infinity } })],
  ['a nested NaN', (p) => ({ ...p, parameters: { items: [{ qty: NaN }] } })],
  ['parameters nested 17 levels', (p) => ({ ...p, parameters: nest(17) })],
  ['null context', (p) => ({ ...p, context: null })],
  ['a context text with DEL', (p) => ({ ...p, context: { c: 'a\u007f' } })],
  ['a proposer without a model', (p) => ({ ...p, proposer: { agentId: 'a', promptTemplateVersion: 'p' } })],
  ['a model version with a line feed', (p) => ({ ...p, proposer: { ...p.proposer, model: { name: 'm', version: '1\n' } } })],
  ['an empty scoped token', (p) => ({ ...p, scopedToken: '' })],
  ['a scoped token of 4097 characters', (p) => ({ ...p, scopedToken: 't'.repeat(4097) })],
];

describe('certainlyValidProposal: the fast shape check of the decision path', () => {
  it('accepts valid proposals, as the schema does (with and without context, with a scoped token, nested 16 levels)', () => {
    const cases = [valid(), { ...valid(), context: undefined }, { ...valid(), scopedToken: 'cst1.support.refund.1.abc' }, { ...valid(), parameters: nest(15) }];
    for (const p of cases) {
      expect(ProposalSchema.safeParse(p).success).toBe(true);
      expect(certainlyValidProposal(p)).toBe(true);
    }
  });

  it.each(invalid)('never calls valid what the schema refuses: %s', (_, change) => {
    const p = change(valid());
    expect(ProposalSchema.safeParse(p).success).toBe(false);
    expect(certainlyValidProposal(p)).toBe(false);
  });

  it('is not sure, and so leaves it to the schema, for values that are not plain data', () => {
    const throwing = Object.defineProperty(valid(), 'tenant', {
      get() {
        throw new Error('no');
      },
      enumerable: true,
    });
    expect(certainlyValidProposal(throwing)).toBe(false);
    expect(certainlyValidProposal(Object.assign(Object.create({ inherited: true }), valid()))).toBe(false);
    expect(certainlyValidProposal(null)).toBe(false);
  });

  it('reads no symbol key, as the schema reads none: a symbol is not data', () => {
    const withSymbols = { ...valid(), [Symbol('root')]: 1, parameters: { [Symbol('s')]: 1, a: 1 } };
    expect(ProposalSchema.safeParse(withSymbols).success).toBe(true);
    expect(certainlyValidProposal(withSymbols)).toBe(true);
    expect(JSON.parse(JSON.stringify(withSymbols))).toEqual({ ...valid(), parameters: { a: 1 } });
  });
});
