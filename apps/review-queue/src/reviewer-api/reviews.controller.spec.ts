import pino from 'pino';
import { generateSigningKey } from '@countersign/approval';
import type { AuthenticatedRequest, Principal } from '@countersign/nest';
import { RecordingBus } from '@countersign/testing';
import { ApprovalService } from '../approvals/approval.service';
import { ClaimService } from '../claims/claim.service';
import { DecisionQuality } from '../decision-quality/decision-quality';
import { DecisionQualityService } from '../decision-quality/decision-quality.service';
import { createInMemoryDecisionQualityStore } from '../decision-quality/in-memory-decision-quality.store';
import { withDecisionQuality } from '../decision-quality/quality-tracking';
import { reviewerStats } from '../decision-quality/statistics';
import { DecisionOutbox } from '../review-item/decision-outbox';
import { InMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import { reviewItem } from '../review-item/review-item.suite';
import { generateReviewDataKey, parseReviewDataKey, ProposalSealer } from '../review-item/sealed-proposal';
import { RevisionService } from '../revisions/revision.service';
import { RevealService } from './reveal.service';
import { ReviewsController } from './reviews.controller';

// real: the reviewer API's controller, its approval, claim, reveal and revision services, decision quality (decorator,
// service, in-memory store) over the in-memory review items, Ed25519 signing, the in-memory bus; fake: nothing (no canaries, no second review sampled).
describe('the JSON API starts a dwell when it serves an item; a decision with no read first counts as unseen (red team, 2026-12-05)', () => {
  const due = new Date(Date.now() + 3_600_000).toISOString();
  const alice: Principal = { id: 'alice', kind: 'human', roles: ['reviewer'], authMethod: 'bearer-token' };
  const req = { principal: alice } as AuthenticatedRequest;

  function setup() {
    const logger = pino({ level: 'silent' });
    const bus = new RecordingBus({ source: 'review-queue', logger });
    const store = createInMemoryDecisionQualityStore();
    const dataKey = parseReviewDataKey(generateReviewDataKey());
    const sealer = new ProposalSealer(dataKey);
    // No second review sampled: the one read after its decision below would be withheld meanwhile.
    const quality = new DecisionQuality({ store, contract: { secondReview: { rate: 0 } } }, dataKey, sealer);
    const items = withDecisionQuality(new InMemoryReviewItemRepository(), quality, logger);
    const key = generateSigningKey('rq-1').signing;
    const outbox = new DecisionOutbox(bus, items, logger, { graceMs: 5_000 });
    const approvals = new ApprovalService(bus, items, key, outbox);
    const controller = new ReviewsController(
      items,
      approvals,
      new ClaimService(items, logger),
      new RevealService(items, sealer, bus),
      new RevisionService(bus, items, key, sealer, logger, outbox, approvals),
      new DecisionQualityService(quality, items, bus, logger, key),
    );
    return { items, store, controller };
  }

  it('records a dwell for an item read before its decision, none for one decided blind, and counts that one unseen', async () => {
    const t = setup();
    await t.items.add(reviewItem('read', due));
    await t.items.add(reviewItem('blind', due));
    await t.controller.one('read', req);
    await t.controller.approve('read', { reason: 'receipt checked' }, req);
    await t.controller.approve('blind', { reason: 'fine' }, req);
    const ds = await t.store.decisionsSince(new Date(0), 10);
    expect(Object.fromEntries(ds.map((d) => [d.actionId, d.dwellMs !== undefined]))).toEqual({ read: true, blind: false });
    expect(reviewerStats(ds)).toEqual([expect.objectContaining({ reviewer: 'alice', decisions: 2, unseen: 1 })]);
    // Reading a decided item starts nothing.
    await t.controller.one('read', { principal: { ...alice, id: 'bob' } } as AuthenticatedRequest);
    expect(await t.store.firstShown('read', 'bob')).toBeUndefined();
  });
});
