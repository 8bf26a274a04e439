import { ConflictException, ForbiddenException } from '@nestjs/common';
import pino from 'pino';
import { Principal } from '@countersign/nest';
import { maskText } from '@countersign/guardrails';
import { generateSigningKey, verifyEventSeal } from '@countersign/approval';
import { TOPICS } from '@countersign/contracts';
import { RecordingBus } from '@countersign/testing';
import { InMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import { reviewItem } from '../review-item/review-item.suite';
import { secondReviewView, shownDigest } from '../review-item/shown';
import { generateReviewDataKey, parseReviewDataKey, ProposalSealer } from '../review-item/sealed-proposal';
import { DecisionQuality, decisionQualityContract } from './decision-quality';
import { DecisionQualityService } from './decision-quality.service';
import { createInMemoryDecisionQualityStore } from './in-memory-decision-quality.store';
import { withDecisionQuality } from './quality-tracking';
import { PROJECT_CONTRACT_PATH } from '../degradation/degradation.providers';
import { RunningContract } from '@countersign/policy';

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
    const service = new DecisionQualityService(
      quality,
      items,
      new RecordingBus({ source: 'review-queue', logger }),
      logger,
      generateSigningKey('rq-1').signing,
    );
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
      new ForbiddenException('a second review must come from someone else than the first decision, its approvers, the authors of the version and the proposer'),
    );
    expect((await service.openSecondReviews(reviewer('bob'))).map((o) => o.review.actionId)).toEqual(['s1']);
    await expect(service.decideSecond('s1', reviewer('bob'), 'approved', 'agree')).resolves.toBeUndefined();
  });

  it('refuses a person without the reviewer role, listing and deciding alike, whatever item role they hold (red team, 2026-12-08)', async () => {
    const { service, store } = await setup();
    // A refund's, which needs finance: quinn holds it, and was shown it.
    await store.addSecondReview({
      actionId: 'f1',
      slaClass: 'normal',
      requiredRoles: ['finance'],
      firstDecision: 'approved',
      excluded: ['alice', 'support-copilot'],
      createdAt: new Date().toISOString(),
    });
    const quinn: Principal = { id: 'quinn', kind: 'human', roles: ['finance', 'lead', 'pii:view'] };
    const refused = new ForbiddenException('second reviews are for reviewers: your account has no reviewer role');
    await expect(service.openSecondReviews(quinn)).rejects.toThrow(refused);
    await expect(service.decideSecond('f1', quinn, 'approved', 'fine')).rejects.toThrow(refused);
    expect(await store.secondReview('f1')).not.toHaveProperty('verdict');
  });

  it('refuses a reviewer bound to tenants, listing and deciding alike: second reviews are drawn from every tenant (ADR 0052)', async () => {
    const { service, store } = await setup();
    const dana = reviewer('dana', { tenants: ['acme'] });
    const refused = new ForbiddenException(
      'the blind second review serves every tenant of the deployment, and you are bound to acme: it is for people bound to no tenant (docs/adr/0052)',
    );
    await expect(service.openSecondReviews(dana)).rejects.toThrow(refused);
    await expect(service.decideSecond('s1', dana, 'approved', 'fine')).rejects.toThrow(refused);
    expect(await store.secondReview('s1')).not.toHaveProperty('verdict');
    // The same person bound to no tenant takes it.
    await expect(service.decideSecond('s1', reviewer('dana'), 'approved', 'agree')).resolves.toBeUndefined();
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

  it("withholds the other versions' decisions of the same action too (one correlation id) until the verdict (red team, 2026-12-07)", async () => {
    const { service, store } = await setup();
    // s3 approved with changes by alice, under a second review; n3 its new version, decided since.
    const story = 'story-of-s3';
    await store.addSecondReview({
      actionId: 's3',
      correlationId: story,
      slaClass: 'normal',
      requiredRoles: ['reviewer'],
      firstDecision: 'approved',
      excluded: ['alice', 'support-copilot'],
      createdAt: new Date().toISOString(),
    });
    const version = { ...reviewItem('n3', due, { status: 'approved', deciders: ['carol'] }), correlationId: story };
    await expect(service.requireNotWithheld(reviewer('bob'), version)).rejects.toThrow(
      new ForbiddenException(
        'the decision on action n3 belongs with action s3, whose decision is under a blind second review: it is shown once the second verdict is in',
      ),
    );
    // Those who took part in the first decision know it already; a pending version shows as any pending item.
    await expect(service.requireNotWithheld(reviewer('alice'), version)).resolves.toBeUndefined();
    await expect(service.requireNotWithheld(reviewer('bob'), { ...version, status: 'pending' })).resolves.toBeUndefined();
    const other = reviewItem('s4', due, { status: 'rejected', deciders: ['alice'] });
    expect((await service.shownDecisions([version, other])).map((i) => i.actionId)).toEqual(['s4']);
    await service.decideSecond('s3', reviewer('bob'), 'approved', 'agree with the change');
    await expect(service.requireNotWithheld(reviewer('bob'), version)).resolves.toBeUndefined();
    expect((await service.shownDecisions([version, other])).map((i) => i.actionId)).toEqual(['n3', 's4']);
  });
});

// real: DecisionQualityService, the decision-quality decorator of the review items, the in-memory decision-quality store
// and review items, Ed25519 seals, the in-memory bus, the project's contract (its canary template); fake: the random
// source (fixed: every decision is sampled for a second review).
describe('blind second reviews are audited, exclude everyone who took part, and count canaries (red team, 2026-12-05)', () => {
  const due = new Date(Date.now() + 3_600_000).toISOString();
  const reviewer = (id: string): Principal => ({ id, kind: 'human', roles: ['reviewer'] });
  const key = generateSigningKey('rq-1');

  async function setup() {
    const store = createInMemoryDecisionQualityStore();
    const dataKey = parseReviewDataKey(generateReviewDataKey());
    const contract = decisionQualityContract(PROJECT_CONTRACT_PATH);
    const quality = new DecisionQuality(
      { store, contract: { canaries: contract.canaries, secondReview: { rate: 1 }, outliers: contract.outliers }, random: () => 0 },
      dataKey,
      new ProposalSealer(dataKey),
    );
    const raw = new InMemoryReviewItemRepository();
    const logger = pino({ level: 'silent' });
    const items = withDecisionQuality(raw, quality, logger);
    const bus = new RecordingBus({ source: 'review-queue', logger });
    const service = new DecisionQualityService(quality, items, bus, logger, key.signing);
    const recorded = () => bus.published.filter((p) => p.topic === TOPICS.secondReviewRecorded).map((p) => p.event);
    return { store, quality, items, bus, service, recorded };
  }

  it('publishes each second verdict, sealed, with the reviewer as actor; once, and later when the bus was down', async () => {
    const t = await setup();
    for (const id of ['a1', 'a2']) {
      await t.items.add(reviewItem(id, due));
      await t.items.decide(id, 'approved', ['alice'], 'fine', new Date());
    }
    await t.service.decideSecond('a1', reviewer('bob'), 'rejected', 'no receipt for card 4111 1111 1111 1111', new Date('2026-12-05T10:00:00Z'));
    const [event] = t.recorded();
    expect(event).toMatchObject({
      subject: 'a1',
      actor: { id: 'bob', kind: 'human' },
      time: '2026-12-05T10:00:00.000Z',
      data: {
        verdict: 'rejected',
        firstDecision: 'approved',
        slaClass: 'high',
        digest: 'a'.repeat(64),
        reason: `no receipt for card ${maskText('4111 1111 1111 1111')}`,
      },
    });
    expect(verifyEventSeal(event, [key.verifyKey])).toEqual({ ok: true });
    expect(verifyEventSeal({ ...event, data: { ...event.data, verdict: 'approved' } } as typeof event, [key.verifyKey]).ok).toBe(false);
    // A later round publishes nothing again.
    await t.service.tick();
    expect(t.recorded()).toHaveLength(1);
    // The bus is down at the verdict: it stands (no error to the reviewer), and the next round publishes it.
    t.bus.down = true;
    await expect(t.service.decideSecond('a2', reviewer('carol'), 'approved', 'agree')).resolves.toBeUndefined();
    expect(t.recorded()).toHaveLength(1);
    t.bus.down = false;
    await t.service.tick();
    expect(t.recorded().map((e) => [e.subject, e.actor.id])).toEqual([
      ['a1', 'bob'],
      ['a2', 'carol'],
    ]);
  });

  it('names how the second reviewer signed in, also when published by a later round; a verdict kept before that, no method', async () => {
    const t = await setup();
    for (const id of ['a1', 'a2']) {
      await t.items.add(reviewItem(id, due));
      await t.items.decide(id, 'approved', ['alice'], 'fine', new Date());
    }
    const signedIn = { authMethod: 'oidc' as const, amr: ['pwd', 'otp', 'mfa'], authTime: Date.parse('2026-12-05T09:58:00Z') };
    t.bus.down = true;
    await t.service.decideSecond('a1', { ...reviewer('bob'), ...signedIn }, 'rejected', 'no receipt', new Date('2026-12-05T10:00:00Z'));
    // As a verdict given before its sign-in was kept (migration 0013).
    await t.store.decideSecondReview('a2', 'carol', 'approved', 'agree', new Date('2026-12-05T10:01:00Z'));
    t.bus.down = false;
    await t.service.tick();
    expect(t.recorded().map((e) => e.actor)).toEqual([
      { id: 'bob', kind: 'human', ...signedIn },
      { id: 'carol', kind: 'human' },
    ]);
  });

  it('keeps the blind page the verdict was given on, with its digest, and refuses a verdict on a view that changed since (409)', async () => {
    const t = await setup();
    for (const id of ['a1', 'a2']) {
      await t.items.add(reviewItem(id, due));
      await t.items.decide(id, 'approved', ['alice'], 'fine', new Date());
    }
    const [{ item }] = (await t.service.openSecondReviews(reviewer('bob'))).filter((o) => o.item.actionId === 'a1');
    const view = secondReviewView(item);
    // Nothing of the first decision on it.
    expect(Object.keys(view).sort()).toEqual(['actionId', 'actionType', 'parameters', 'reasons', 'target']);
    await expect(t.service.decideSecond('a1', reviewer('bob'), 'approved', 'agree', new Date(), 'f'.repeat(64))).rejects.toBeInstanceOf(ConflictException);
    expect(await t.store.unauditedSecondVerdicts(10)).toEqual([]);
    await t.service.decideSecond('a1', reviewer('bob'), 'rejected', 'no receipt', new Date(), shownDigest(view));
    // Through the API, without the page's digest: kept, not echoed.
    await t.service.decideSecond('a2', reviewer('carol'), 'approved', 'agree');
    const [first, second] = t.recorded();
    expect(first.data).toMatchObject({ shown: view, shownDigest: shownDigest(view), shownEchoed: true });
    expect(second.data).toMatchObject({ shown: { actionId: 'a2' }, shownEchoed: false });
    expect(verifyEventSeal(first, [key.verifyKey])).toEqual({ ok: true });
    expect(verifyEventSeal({ ...first, data: { ...first.data, shown: { ...view, target: 'another' } } } as typeof first, [key.verifyKey]).ok).toBe(false);
  });

  it("neither offers nor takes it from an approver of the item or an author of its version, though not the final decider's", async () => {
    const t = await setup();
    // A quorum of 2: dave approved, then alice rejected it; erin wrote the version (approve with changes).
    await t.items.add(reviewItem('q1', due, { quorum: 2, authoredBy: ['erin'] }));
    await t.items.addApproval('q1', 'dave', 'fine');
    await t.items.decide('q1', 'rejected', ['alice'], 'no receipt', new Date());
    expect((await t.store.secondReview('q1'))!.excluded).toEqual(expect.arrayContaining(['alice', 'dave', 'erin', 'support-copilot']));
    for (const who of ['alice', 'dave', 'erin']) {
      expect(await t.service.openSecondReviews(reviewer(who))).toEqual([]);
      await expect(t.service.decideSecond('q1', reviewer(who), 'approved', 'fine')).rejects.toBeInstanceOf(ForbiddenException);
    }
    // A second review sampled before approvers and authors were excluded: the service refuses them all the same.
    await t.store.addSecondReview({
      actionId: 'old',
      slaClass: 'high',
      requiredRoles: ['reviewer'],
      firstDecision: 'approved',
      excluded: ['alice'],
      createdAt: new Date().toISOString(),
    });
    await t.items.add(reviewItem('old', due, { status: 'rejected', deciders: ['alice'], approvedBy: ['dave'], authoredBy: ['erin'] }));
    for (const who of ['dave', 'erin']) {
      expect(await t.service.openSecondReviews(reviewer(who))).toEqual([]);
      await expect(t.service.decideSecond('old', reviewer(who), 'approved', 'fine')).rejects.toThrow(/its approvers, the authors of the version/);
    }
    expect((await t.service.openSecondReviews(reviewer('bob'))).map((o) => o.review.actionId)).toEqual(['q1', 'old']);
  });

  it('counts a canary approved in a second review as a miss, audited as the first-review miss is; a rejection there as a catch', async () => {
    const t = await setup();
    const real = reviewItem('real', due);
    const template = t.quality.options.contract.canaries!.templates[0];
    const canaries = [await t.quality.canaryItem(real, template, new Date()), await t.quality.canaryItem(real, template, new Date())];
    for (const c of canaries) {
      await t.store.addCanary({ actionId: c.actionId, template: template.id, actionType: c.proposal.actionType, slaClass: c.slaClass, createdAt: c.createdAt });
      await t.items.add(c);
      // alice catches both at first review; each is sampled for a second review.
      await t.items.decide(c.actionId, 'rejected', ['alice'], 'card never used', new Date());
    }
    await t.service.decideSecond(canaries[0].actionId, reviewer('bob'), 'approved', 'looks fine');
    await t.service.decideSecond(canaries[1].actionId, reviewer('carol'), 'rejected', 'card never used');
    await t.service.tick();
    const ds = await t.store.decisionsSince(new Date(0), 10);
    // Both second verdicts may fall in one millisecond, which orders them no further: read by reviewer.
    const seconds = ds.filter((d) => d.reviewer !== 'alice').sort((a, b) => a.reviewer.localeCompare(b.reviewer));
    expect(seconds.map((d) => [d.actionId, d.reviewer, d.decision, d.canary])).toEqual([
      [canaries[0].actionId, 'bob', 'approved', true],
      [canaries[1].actionId, 'carol', 'rejected', true],
    ]);
    const misses = t.bus.published.filter((p) => p.topic === TOPICS.canaryMissed).map((p) => p.event);
    expect(misses.map((e) => [e.subject, e.actor.id])).toEqual([[canaries[0].actionId, 'bob']]);
    expect(misses[0].data).toMatchObject({ template: template.id, actionType: template.actionType });
    // Stamped with the time bob approved it, not the time a round audited it (red team, 2026-12-07).
    expect(misses[0].time).toBe(seconds[0].decidedAt);
  });

  it('samples every SLA class of the contract, at 0 once its items are gone, so a plot does not keep its last depth (red team, 2026-12-07)', async () => {
    const store = createInMemoryDecisionQualityStore();
    const dataKey = parseReviewDataKey(generateReviewDataKey());
    const running = RunningContract.fromFile(PROJECT_CONTRACT_PATH);
    const quality = new DecisionQuality(
      { store, contract: decisionQualityContract(PROJECT_CONTRACT_PATH), policy: () => running.compiledContract() },
      dataKey,
      new ProposalSealer(dataKey),
    );
    const items = new InMemoryReviewItemRepository();
    const logger = pino({ level: 'silent' });
    const service = new DecisionQualityService(quality, items, new RecordingBus({ source: 'review-queue', logger }), logger, key.signing);
    await items.add(reviewItem('c1', due, { slaClass: 'critical' }));
    await service.sample(new Date('2026-12-07T10:00:00Z'));
    await items.decide('c1', 'expired', ['review-clock'], 'expired', new Date());
    await service.sample(new Date('2026-12-07T10:01:00Z'));
    const later = (await store.queueSamplesSince(new Date('2026-12-07T10:00:30Z'))).map((q) => [q.slaClass, q.depth]);
    expect(later).toEqual(expect.arrayContaining([['critical', 0]]));
    expect(later.map(([c]) => c).sort()).toEqual(Object.keys(running.compiledContract().contract.slaClasses).sort());
  });
});
