import { InMemoryReviewItemRepository } from './in-memory-review-item.repository';
import { withMaskedReasons } from './masked-reasons';
import { reviewItem } from './review-item.suite';
import { publicItem } from './shown';

// real: withMaskedReasons, the in-memory review items (the PostgreSQL ones pass the same shared suite), publicItem;
// fake: nothing.
const REASON = 'customer jane.doe@victim.example card 4111 1111 1111 1111 IBAN DE89370400440532013000 is not theirs';
const MASKED = 'customer j***@[email] card [card …1111] IBAN DE** [iban …3000] is not theirs';

describe('reasons people write are stored masked', () => {
  it("masks a decision's reason and a quorum approval's reason, and the API masks an item decided before", async () => {
    const raw = new InMemoryReviewItemRepository();
    const items = withMaskedReasons(raw);
    await items.add(reviewItem('a1', '2026-11-24T12:00:00.000Z'));
    await items.add(reviewItem('a2', '2026-11-24T12:00:00.000Z', { quorum: 2 }));
    await items.decide('a1', 'rejected', ['alice'], REASON, new Date('2026-11-24T10:05:00Z'));
    expect((await raw.get('a1'))?.decisionReason).toBe(MASKED);
    expect(await items.addApproval('a2', 'alice', REASON)).toEqual([{ approver: 'alice', reason: MASKED }]);
    // Stored raw by a queue before this change: served masked all the same.
    await raw.add(reviewItem('old', '2026-11-24T12:00:00.000Z'));
    await raw.decide('old', 'rejected', ['alice'], REASON, new Date('2026-11-24T10:05:00Z'));
    expect(publicItem((await raw.get('old'))!).decisionReason).toBe(MASKED);
  });
});
