import { buildEnvelope } from '@countersign/bus';
import { TOPICS } from '@countersign/contracts';
import { refundProposal } from '@countersign/testing';
import { DecisionEvent, ReviewItem, ReviewItemRepository } from './review-item.repository';

export const reviewItem = (actionId: string, dueAt: string, over: Partial<ReviewItem> = {}): ReviewItem => ({
  kind: 'approval',
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

/** A signed review decision's event, as the approvals build it before deciding (the signature is opaque here). */
export const decisionEvent = (item: ReviewItem, decision: 'approved' | 'rejected', by: string): DecisionEvent => ({
  topic: TOPICS.reviewDecided,
  event: buildEnvelope(
    TOPICS.reviewDecided,
    { decision, reviewers: [{ id: by, kind: 'human' }], reason: 'checked', digest: item.digest, signature: 'signed.token' },
    'review-queue',
    { cause: { id: item.decisionEventId, subject: item.actionId, correlationId: item.correlationId }, time: new Date('2026-11-24T10:02:00.000Z') },
  ),
});

/** What every review-item store does: the PostgreSQL repository and its in-memory twin both pass it. */
export function reviewItemSuite(name: string, make: () => Promise<ReviewItemRepository>) {
  describe(`ReviewItemRepository shared suite: ${name}`, () => {
    it('adds an item once and reads it back', async () => {
      const repo = await make();
      expect(await repo.add(reviewItem('a1', '2026-11-24T10:15:00.000Z'))).toBe(true);
      expect(await repo.add(reviewItem('a1', '2026-11-24T11:00:00.000Z'))).toBe(false);
      expect(await repo.get('a1')).toEqual(reviewItem('a1', '2026-11-24T10:15:00.000Z'));
      expect(await repo.get('nope')).toBeUndefined();
    });

    it('of concurrent deliveries of one decision, exactly one adds the item', async () => {
      const repo = await make();
      const added = await Promise.all([0, 1, 2].map((n) => repo.add(reviewItem('a1', `2026-11-24T10:1${n}:00.000Z`))));
      expect(added.filter(Boolean)).toHaveLength(1);
      expect((await repo.pending(10)).map((i) => i.actionId)).toEqual(['a1']);
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

    it('orders items due at the same time by action id, and keeps an item decided off the pending list', async () => {
      const repo = await make();
      for (const id of ['b', 'c', 'a']) await repo.add(reviewItem(id, '2026-11-24T10:15:00.000Z'));
      expect((await repo.pending(10)).map((i) => i.actionId)).toEqual(['a', 'b', 'c']);
      await repo.decide('b', 'approved', ['alice'], 'ok', new Date('2026-11-24T10:01:00Z'));
      expect((await repo.pending(10)).map((i) => i.actionId)).toEqual(['a', 'c']);
    });

    it('keeps an audit sample as an audit sample, with its times and roles, through its assessment', async () => {
      const repo = await make();
      const sample = reviewItem('s1', '2026-11-24T14:00:00.000Z', { kind: 'audit-sample', requiredRoles: [], reasons: [], quorum: 1, slaClass: 'normal' });
      expect(await repo.add(sample)).toBe(true);
      expect(await repo.get('s1')).toEqual(sample);
      const assessed = await repo.decide('s1', 'disagreed', ['bob'], 'should have been reviewed', new Date('2026-11-24T11:00:00.000Z'));
      expect(assessed).toEqual({
        ...sample,
        status: 'disagreed',
        deciders: ['bob'],
        decisionReason: 'should have been reviewed',
        decidedAt: '2026-11-24T11:00:00.000Z',
      });
      expect(await repo.get('s1')).toEqual(assessed);
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

    it('counts two approvers approving at once each once, and exactly one of them completes the quorum', async () => {
      const repo = await make();
      for (let round = 0; round < 5; round++) {
        const id = `q${round}`;
        await repo.add(reviewItem(id, '2026-11-24T10:15:00.000Z', { quorum: 2 }));
        const seen = await Promise.all([repo.addApproval(id, 'alice', 'yes'), repo.addApproval(id, 'bob', 'yes too')]);
        expect(seen.filter((all) => all.length >= 2)).toHaveLength(1);
        expect(seen.map((all) => all.length).sort()).toEqual([1, 2]);
        expect((await repo.addApproval(id, 'alice', 'again')).map((a) => a.approver).sort()).toEqual(['alice', 'bob']);
      }
    });

    it('records no approval for an unknown item', async () => {
      const repo = await make();
      expect(await repo.addApproval('nope', 'alice', 'yes')).toEqual([]);
      await repo.add(reviewItem('nope', '2026-11-24T10:15:00.000Z'));
      expect(await repo.addApproval('nope', 'bob', 'yes')).toEqual([{ approver: 'bob', reason: 'yes' }]);
    });

    it('stores the decision event with the decision, unpublished until marked: the outbox', async () => {
      const repo = await make();
      const [a1, a2, a3] = ['a1', 'a2', 'a3'].map((id) => reviewItem(id, '2026-11-24T10:15:00.000Z'));
      for (const item of [a1, a2, a3]) await repo.add(item);
      const e1 = decisionEvent(a1, 'rejected', 'alice');
      const e2 = decisionEvent(a2, 'approved', 'bob');
      expect(await repo.decisionEvent('a1')).toBeUndefined();
      await repo.decide('a2', 'approved', ['bob'], 'ok', new Date('2026-11-24T10:03:00.000Z'), e2);
      await repo.decide('a1', 'rejected', ['alice'], 'no', new Date('2026-11-24T10:02:00.000Z'), e1);
      await repo.decide('a3', 'expired', [], 'no event for this one', new Date('2026-11-24T10:01:00.000Z'));
      // A losing decision stores nothing: the winner's event stays.
      await repo.decide('a1', 'approved', ['carol'], 'late', new Date('2026-11-24T10:04:00.000Z'), decisionEvent(a1, 'approved', 'carol'));
      expect(await repo.decisionEvent('a1')).toEqual({ ...e1, actionId: 'a1', decidedAt: '2026-11-24T10:02:00.000Z' });
      expect(await repo.decisionEvent('a3')).toBeUndefined();
      // Oldest decision first; none decided after `decidedBefore`.
      expect((await repo.unpublished(new Date('2026-11-24T10:05:00.000Z'), 10)).map((e) => [e.actionId, e.event.id])).toEqual([
        ['a1', e1.event.id],
        ['a2', e2.event.id],
      ]);
      expect((await repo.unpublished(new Date('2026-11-24T10:02:30.000Z'), 10)).map((e) => e.actionId)).toEqual(['a1']);
      expect((await repo.unpublished(new Date('2026-11-24T10:05:00.000Z'), 1)).map((e) => e.actionId)).toEqual(['a1']);
      await repo.markPublished('a1', new Date('2026-11-24T10:06:00.000Z'));
      await repo.markPublished('a1', new Date('2026-11-24T10:07:00.000Z'));
      expect((await repo.unpublished(new Date('2026-11-24T10:05:00.000Z'), 10)).map((e) => e.actionId)).toEqual(['a2']);
      expect(await repo.decisionEvent('a1')).toEqual({ ...e1, actionId: 'a1', decidedAt: '2026-11-24T10:02:00.000Z', publishedAt: '2026-11-24T10:06:00.000Z' });
      // The item itself reads as before: the outbox is not part of what reviewers are shown.
      expect(await repo.get('a1')).toEqual({ ...a1, status: 'rejected', deciders: ['alice'], decisionReason: 'no', decidedAt: '2026-11-24T10:02:00.000Z' });
    });
  });
}
