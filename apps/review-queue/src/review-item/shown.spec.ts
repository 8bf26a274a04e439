import { actionDigest } from '@countersign/contracts';
import { maskDeep } from '@countersign/guardrails';
import { refundProposal } from '@countersign/testing';
import { reviewItem } from './review-item.suite';
import { publicItem, shownDigest, shownView } from './shown';

// real: the views the review API serves and the decisions record, the masking; fake: nothing.
describe('what the review API shows of an item', () => {
  it('leaves out the digest of the real proposal, which beside the masked values would let them be found by trying candidates (red team, 2026-12-04)', () => {
    const real = { ...refundProposal(), parameters: { amount: 480, currency: 'EUR', card: '4111 1111 1111 1111' } };
    const item = { ...reviewItem('a1', '2026-12-04T12:00:00.000Z'), proposal: maskDeep(real), digest: actionDigest(real, '1'), sealed: 'sealed' };
    for (const view of [publicItem(item), shownView(item)]) {
      expect(view).not.toHaveProperty('digest');
      expect(view).not.toHaveProperty('sealed');
      expect(JSON.stringify(view)).not.toContain(item.digest);
      expect(JSON.stringify(view)).not.toContain('4111 1111 1111 1111');
    }
    // What was shown still has its own digest, which a decision names: over the masked view only.
    expect(shownDigest(shownView(item))).toMatch(/^[0-9a-f]{64}$/);
  });
});
