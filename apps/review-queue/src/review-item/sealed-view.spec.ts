// real: the sealer (AES-GCM under a review data key made here), masking, the in-memory review items; fake: the logger.
import { actionDigest } from '@countersign/contracts';
import { InMemoryReviewItemRepository } from './in-memory-review-item.repository';
import { generateReviewDataKey, parseReviewDataKey, ProposalSealer } from './sealed-proposal';
import { reviewItem } from './review-item.suite';
import { maskDeep } from '@countersign/guardrails';
import { RunningContract } from '@countersign/policy';
import { PROJECT_CONTRACT_PATH } from '../degradation/degradation.providers';
import { revisionMoneyFields } from '../revisions/revised-parameters';
import { shownProposal, withSealedView } from './sealed-view';

describe('withSealedView: a single item shows its proposal as its sealed copy has it', () => {
  function setUp() {
    const sealer = new ProposalSealer(parseReviewDataKey(generateReviewDataKey()));
    const raw = new InMemoryReviewItemRepository();
    const alerts: unknown[] = [];
    const logger = { error: (o: unknown) => void alerts.push(o) } as never;
    return { sealer, raw, items: withSealedView(raw, sealer, logger), alerts };
  }

  it('shows the sealed proposal, masked, whatever the stored column says (red team, 2026-12-07: amount 4 shown, 450 executed)', async () => {
    const { sealer, raw, items, alerts } = setUp();
    const base = reviewItem('a1', '2026-12-07T10:00:00.000Z');
    const real = { ...base.proposal, parameters: { amount: 450, currency: 'EUR', card: '4111 1111 1111 1111' } };
    await raw.add({
      ...base,
      digest: actionDigest(real, base.contractVersion),
      proposal: { ...real, parameters: { amount: 4, currency: 'EUR' } },
      sealed: sealer.seal('a1', real),
    });
    const shown = (await items.get('a1'))!;
    expect(shown.proposal.parameters).toEqual({ amount: 450, currency: 'EUR', card: '[card …1111]' });
    // Read again: the same (remembered while the sealed copy is the same).
    expect((await items.get('a1'))!.proposal.parameters).toEqual(shown.proposal.parameters);
    expect(alerts).toEqual([]);
    // Lists read the column.
    expect((await items.pending(10)).find((i) => i.actionId === 'a1')!.proposal.parameters).toEqual({ amount: 4, currency: 'EUR' });
  });

  it('reads an item whose sealed copy names another proposal, or does not open, as stored, and says so at error', async () => {
    const { sealer, raw, items, alerts } = setUp();
    const base = reviewItem('a2', '2026-12-07T10:00:00.000Z');
    const other = { ...base.proposal, parameters: { amount: 9 } };
    await raw.add({ ...base, sealed: sealer.seal('a2', other) });
    expect((await items.get('a2'))!.proposal).toEqual(base.proposal);
    await raw.add({ ...reviewItem('a3', '2026-12-07T10:00:00.000Z'), sealed: sealer.seal('a2', other) });
    expect((await items.get('a3'))!.proposal).toEqual(reviewItem('a3', '2026-12-07T10:00:00.000Z').proposal);
    expect(alerts).toEqual([
      expect.objectContaining({ alert: 'sealed-copy-broken', actionId: 'a2', why: 'digest-mismatch' }),
      expect.objectContaining({ alert: 'sealed-copy-broken', actionId: 'a3', why: 'unreadable' }),
    ]);
    // An item with no sealed copy (queued before sealing existed) reads as stored.
    await raw.add(reviewItem('a4', '2026-12-07T10:00:00.000Z'));
    expect((await items.get('a4'))!.proposal).toEqual(reviewItem('a4', '2026-12-07T10:00:00.000Z').proposal);
  });
});

describe('shownProposal: the card shows money as money (red team, 2026-12-07)', () => {
  const running = RunningContract.fromFile(PROJECT_CONTRACT_PATH);
  const payout = (amount: number) => ({
    ...reviewItem('p1', '2026-12-07T10:00:00.000Z').proposal,
    actionType: 'payments.payout',
    parameters: { amount, currency: 'JPY', iban: 'DE89370400440532013000' },
  });

  it('shows an amount the schema declares as money whatever its digits look like, and masks the rest', () => {
    // Eleven digits read as a national id: two reviewers approved a payout whose amount they were shown as `[de-tax-id]`.
    expect(maskDeep(payout(12345678901)).parameters.amount).toBe('[de-tax-id]');
    expect(shownProposal(payout(12345678901), revisionMoneyFields(running)).parameters).toEqual({
      amount: 12345678901,
      currency: 'JPY',
      // As reviewers see masks: the check digits tell this IBAN from another that ends alike.
      iban: 'DE89 [iban …3000]',
    });
    // Without the contract (no money fields known), masked as before.
    expect(shownProposal(payout(12345678901)).parameters.amount).toBe('[de-tax-id]');
  });

  it('keeps a card number masked even where money is declared', () => {
    expect(shownProposal(payout(4111111111111111), revisionMoneyFields(running)).parameters.amount).toBe('[card …1111]');
  });
});
