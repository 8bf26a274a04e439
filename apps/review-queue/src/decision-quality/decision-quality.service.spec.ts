import { ForbiddenException } from '@nestjs/common';
import pino from 'pino';
import { Principal } from '@countersign/nest';
import { maskText } from '@countersign/guardrails';
import { RecordingBus } from '@countersign/testing';
import { InMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import { reviewItem } from '../review-item/review-item.suite';
import { generateReviewDataKey, parseReviewDataKey, ProposalSealer } from '../review-item/sealed-proposal';
import { DecisionQuality, decisionQualityContract } from './decision-quality';
import { DecisionQualityService } from './decision-quality.service';
import { createInMemoryDecisionQualityStore } from './in-memory-decision-quality.store';
import { PROJECT_CONTRACT_PATH } from '../degradation/degradation.providers';

// real: DecisionQualityService's second reviews, the in-memory decision-quality store and review items, the project's
// contract; fake: nothing (the second review is added as the decorator adds one).
describe('blind second reviews: never by the proposing side, and blind beyond their page', () => {
  const due = new Date(Date.now() + 3_600_000).toISOString();
  const reviewer = (id: string, more: Partial<Principal> = {}): Principal => ({ id, kind: 'human', roles: ['reviewer'], ...more });

  async function setup() {
    const store = createInMemoryDecisionQualityStore();
    const dataKey = parseReviewDataKey(generateReviewDataKey());
    const quality = new DecisionQuality({ store, contract: decisionQualityContract(PROJECT_CONTRACT_PATH) }, dataKey, new ProposalSealer(dataKey));
    const items = new InMemoryReviewItemRepository();
    const logger = pino({ level: 'silent' });
    const service = new DecisionQualityService(quality, items, new RecordingBus({ source: 'review-queue', logger }), logger);
    // Decided by alice; proposed by support-copilot (the item's agent and principal).
    await items.add(reviewItem('s1', due, { status: 'approved', deciders: ['alice'] }));
    await store.addSecondReview({
      actionId: 's1',
      slaClass: 'normal',
      requiredRoles: ['reviewer'],
      firstDecision: 'approved',
      excluded: ['alice', 'support-copilot'],
      createdAt: new Date().toISOString(),
    });
    return { service, store };
  }

  it("offers and takes it from another reviewer, but not from one who may propose as the item's agent through another token", async () => {
    const { service } = await setup();
    const agentOwner = reviewer('fiona', { proposesAs: ['fiona', 'support-copilot'] });
    expect(await service.openSecondReviews(agentOwner)).toEqual([]);
    await expect(service.decideSecond('s1', agentOwner, 'approved', 'fine')).rejects.toThrow(
      new ForbiddenException('a second review must come from someone else than the first decision and the proposer'),
    );
    expect((await service.openSecondReviews(reviewer('bob'))).map((o) => o.review.actionId)).toEqual(['s1']);
    await expect(service.decideSecond('s1', reviewer('bob'), 'approved', 'agree')).resolves.toBeUndefined();
  });

  it('withholds the first decision from everyone but its deciders and proposer until the second verdict is in', async () => {
    const { service, store } = await setup();
    const decided = reviewItem('s1', due, { status: 'approved', deciders: ['alice'] });
    await expect(service.requireNotWithheld(reviewer('bob'), decided)).rejects.toThrow(
      new ForbiddenException('the decision on action s1 is under a blind second review: it is shown once the second verdict is in'),
    );
    await expect(service.requireNotWithheld(reviewer('alice'), decided)).resolves.toBeUndefined();
    // Left out of a card's recent decisions meanwhile; an item with no second review stays.
    const other = reviewItem('s2', due, { status: 'rejected', deciders: ['alice'] });
    expect((await service.shownDecisions([decided, other])).map((i) => i.actionId)).toEqual(['s2']);
    // Once bob's verdict is in, the first decision shows again.
    await service.decideSecond('s1', reviewer('bob'), 'rejected', 'no receipt for card 4111 1111 1111 1111');
    // Stored masked, as every reason a person writes (red team, round 15: shown in full on the governance page).
    expect((await store.secondReview('s1'))?.reason).toBe(`no receipt for card ${maskText('4111 1111 1111 1111')}`);
    expect((await store.secondReview('s1'))?.reason).not.toContain('4111 1111 1111 1111');
    await expect(service.requireNotWithheld(reviewer('bob'), decided)).resolves.toBeUndefined();
    expect((await service.shownDecisions([decided, other])).map((i) => i.actionId)).toEqual(['s1', 's2']);
  });
});
