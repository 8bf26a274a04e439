import { readFileSync } from 'node:fs';
import { parseContract } from './contract';
import { compileContract, evaluate } from './evaluate';
import { compiledProjectContract, OPEN_INPUTS, PROJECT_CONTRACT, proposalOf } from './spec-fixtures';

// real: the project's contract (outbound: support.reply, notification.external; guardrail: review), evaluate
// and the built-in detectors; fake: nothing.
const CONTRACT = PROJECT_CONTRACT;
const compiled = compiledProjectContract;
const OK = OPEN_INPUTS;
const reply = (body: string) => proposalOf('support.reply', { body }, { target: 'ticket-1', confidence: 0.97 });

describe('content guardrail: regulated data in outbound text', () => {
  it('sends a reply carrying a card number to review, naming the kind and never the value', () => {
    const d = evaluate(compiled, reply('Your refund went to card 4111 1111 1111 1111.'), OK);
    expect(d).toMatchObject({ lane: 'review', rulesFired: expect.arrayContaining(['guardrail:regulated-data']) });
    expect(d.reasons.find((r) => r.startsWith('regulated data in outbound text'))).toMatch(/\(card\)/);
    expect(JSON.stringify(d)).not.toMatch(/4111 1111 1111 1111|4111111111111111/);
  });

  it('finds IBANs and e-mail addresses too; a plain reply stays autonomous', () => {
    expect(evaluate(compiled, reply('Paid to DE89370400440532013000, receipt to jane.doe@example.com'), OK).reasons.join()).toMatch(
      /\((email, iban|iban, email)\)/,
    );
    expect(evaluate(compiled, reply('Thanks, your parcel ships tomorrow.'), OK)).toMatchObject({ lane: 'autonomous' });
  });

  it('is not applied to action types the contract does not mark outbound', () => {
    const refund = { ...reply(''), actionType: 'support.refund', parameters: { amount: 10, currency: 'EUR', reason: 'late', card: '4111 1111 1111 1111' } };
    expect(evaluate(compiled, refund, OK).rulesFired).not.toContain('guardrail:regulated-data');
  });

  it('the contract can make it prohibited', () => {
    const strict = compileContract(
      parseContract(readFileSync(CONTRACT, 'utf8').replace('regulatedDataInOutboundText: review', 'regulatedDataInOutboundText: prohibited'), 'strict.yaml'),
    );
    expect(evaluate(strict, reply('card 4111 1111 1111 1111'), OK)).toMatchObject({
      lane: 'prohibited',
      rulesFired: expect.arrayContaining(['guardrail:regulated-data']),
    });
  });
});

describe('guardrails read an agent content whatever its keys are named (red team, 2026-12-05)', () => {
  it('a card number under a context or parameter key named like an identifier (`id`, `subject`, `nonce`) is one', () => {
    const refund = (context: Record<string, unknown>, parameters: Record<string, unknown> = {}) =>
      proposalOf('support.refund', { amount: 12.5, currency: 'EUR', reason: 'late delivery', ...parameters }, { target: 'order-4411', context });
    for (const context of [
      { id: 'PAN4111111111111111' },
      { customer: { id: { card: '4111 1111 1111 1111x' } } },
      { nonce: { card: 'card4111 1111 1111 1111' } },
    ]) {
      expect(evaluate(compiled, refund(context), OK)).toMatchObject({ lane: 'review', rulesFired: expect.arrayContaining(['guardrail:card-data']) });
    }
    // As before: nothing regulated, nothing raised.
    expect(evaluate(compiled, refund({ id: 'c-77' }), OK).rulesFired).not.toContain('guardrail:card-data');
  });

  it('a phone number or national id in outbound text under a key named `id` is regulated data', () => {
    const d = evaluate(
      compiled,
      proposalOf('notification.external', { recipients: 1, template: 'promo', id: 'call +49 151 23456789' }, { target: 'cust-1' }),
      OK,
    );
    expect(d.rulesFired).toContain('guardrail:regulated-data');
  });
});
