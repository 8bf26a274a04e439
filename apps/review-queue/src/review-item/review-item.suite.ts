import { refundProposal } from '@countersign/testing';
import { ReviewItem, ReviewItemRepository } from './review-item.repository';

export const reviewItem = (actionId: string, dueAt: string, over: Partial<ReviewItem> = {}): ReviewItem => ({
  actionId,
  correlationId: `c-${actionId}`,
  decisionEventId: `d-${actionId}`,
  digest: 'a'.repeat(64),
  proposal: refundProposal(),
  proposerPrincipal: 'support-copilot',
  contractVersion: '1',
  reasons: ['amount above limit'],
  slaClass: 'high',
  requiredRoles: ['reviewer'],
  quorum: 1,
  createdAt: '2026-11-24T10:00:00.000Z',
  dueAt,
  status: 'pending',
  ...over,
});

/** The review-queue contract: the Redis repository and its in-memory twin both pass it. */
export function reviewItemSuite(name: string, make: () => Promise<ReviewItemRepository>) {
  describe(`ReviewItemRepository shared suite: ${name}`, () => {
    it('adds an item once and reads it back', async () => {
      const repo = await make();
      expect(await repo.add(reviewItem('a1', '2026-11-24T10:15:00.000Z'))).toBe(true);
      expect(await repo.add(reviewItem('a1', '2026-11-24T11:00:00.000Z'))).toBe(false);
      expect(await repo.get('a1')).toEqual(reviewItem('a1', '2026-11-24T10:15:00.000Z'));
      expect(await repo.get('nope')).toBeUndefined();
    });

    it('lists pending items most urgent first, and no decided ones', async () => {
      const repo = await make();
      await repo.add(reviewItem('late', '2026-11-24T14:00:00.000Z'));
      await repo.add(reviewItem('soon', '2026-11-24T10:05:00.000Z'));
      await repo.add(reviewItem('mid', '2026-11-24T10:15:00.000Z'));
      await repo.decide('mid', 'rejected', ['alice'], 'no', new Date('2026-11-24T10:01:00Z'));
      expect((await repo.pending(10)).map((i) => i.actionId)).toEqual(['soon', 'late']);
      expect((await repo.pending(1)).map((i) => i.actionId)).toEqual(['soon']);
    });

    it('decides a pending item once: of concurrent decisions exactly one wins', async () => {
      const repo = await make();
      await repo.add(reviewItem('a1', '2026-11-24T10:15:00.000Z'));
      const at = new Date('2026-11-24T10:02:00.000Z');
      const results = await Promise.all([
        repo.decide('a1', 'approved', ['alice'], 'fine', at),
        repo.decide('a1', 'rejected', ['bob'], 'not fine', at),
        repo.decide('a1', 'approved', ['carol'], 'ok', at),
      ]);
      const winners = results.filter(Boolean);
      expect(winners).toHaveLength(1);
      expect(await repo.get('a1')).toEqual(winners[0]);
      expect(winners[0]!.decidedAt).toBe(at.toISOString());
      expect(await repo.decide('missing', 'approved', ['alice'], 'x', at)).toBeUndefined();
    });

    it('keeps the sealed real proposal through a decision', async () => {
      const repo = await make();
      const sealed = 'v1.k.aXY.c2VhbGVk.dGFn';
      await repo.add(reviewItem('a1', '2026-11-24T10:15:00.000Z', { sealed }));
      expect((await repo.decide('a1', 'approved', ['alice'], 'fine', new Date('2026-11-24T10:02:00.000Z')))!.sealed).toBe(sealed);
      expect((await repo.get('a1'))!.sealed).toBe(sealed);
    });

    it('collects distinct approvers towards a quorum', async () => {
      const repo = await make();
      await repo.add(reviewItem('a1', '2026-11-24T10:15:00.000Z', { quorum: 2 }));
      await repo.addApproval('a1', 'alice', 'first');
      await repo.addApproval('a1', 'alice', 'again');
      const all = await repo.addApproval('a1', 'bob', 'second');
      expect(all.sort((x, y) => x.approver.localeCompare(y.approver))).toEqual([
        { approver: 'alice', reason: 'first' },
        { approver: 'bob', reason: 'second' },
      ]);
    });
  });
}
