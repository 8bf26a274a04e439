import pino from 'pino';
import { checkAggregateLimits, createInMemoryRateLimiter, evaluate, RunningContract } from '@countersign/policy';
import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase, eventually } from '@countersign/testing';
import { PROJECT_CONTRACT_PATH } from '../degradation/degradation.providers';
import { decisionEvent, escalateOrExpire, reviewItem } from '../review-item/review-item.suite';
import { PgReviewItemRepository } from '../review-item/pg-review-item.repository';
import type { ReviewItemRepository } from '../review-item/review-item.repository';
import { generateReviewDataKey, parseReviewDataKey, ProposalSealer } from '../review-item/sealed-proposal';
import { CANARY_MAX_DELAY_MS, DecisionQuality, DecisionQualityContract, DecisionQualityOptions } from './decision-quality';
import type { DecisionQualityStore } from './decision-quality.store';
import { PgDecisionQualityStore } from './pg-decision-quality.store';
import { withDecisionQuality } from './quality-tracking';

// real: PostgreSQL (the review items and the decision-quality records, one database cloned from the migrated template
// per test), the decorator, the canary mark; fake: the random source (fixed, so sampling is certain).

const TEMPLATE = {
  id: 'refund-to-unrelated-card',
  actionType: 'support.refund',
  target: 'order-90431',
  parameters: { amount: 4800, currency: 'EUR', reason: 'refund to a new card', card: '5500 0000 0000 0004' },
  reasons: ['refund above the autonomous limit of 200 EUR'],
  why: 'ten times the order value',
};

const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(cleanups.map((c) => c()));
}, 60_000);

async function setUp(contract: DecisionQualityContract, more: Partial<DecisionQualityOptions> = {}) {
  const db = await createTestDatabase('quality-tracking');
  const pool: Pool = createPgPool(db.url);
  cleanups.push(async () => {
    await pool.end();
    await db.drop();
  });
  const raw = new PgReviewItemRepository(pool);
  const store: DecisionQualityStore = new PgDecisionQualityStore(pool);
  const dataKey = parseReviewDataKey(generateReviewDataKey());
  const sealer = new ProposalSealer(dataKey);
  const quality = new DecisionQuality({ store, contract, random: () => 0, ...more }, dataKey, sealer);
  const items: ReviewItemRepository = withDecisionQuality(raw, quality, pino({ level: 'silent' }));
  return { raw, items, store, quality, sealer };
}

const due = new Date(Date.now() + 3600_000).toISOString();
const queued = new Date(Date.now() - 120_000).toISOString();

it("records each reviewer's decision with the dwell from the card first served, and samples a second review", async () => {
  const { items, store } = await setUp({ secondReview: { rate: 1 } });
  await items.add(reviewItem('r1', due, { createdAt: queued }));
  const shown = new Date(Date.now() - 30_000);
  await store.cardShown('r1', 'fiona', shown);
  await store.cardShown('r1', 'fiona', new Date()); // a reload later does not restart the dwell
  const at = new Date();
  const item = (await items.get('r1'))!;
  expect(await items.decide('r1', 'rejected', ['fiona'], 'no receipt', at, decisionEvent(item, 'rejected', 'fiona'))).toMatchObject({ status: 'rejected' });

  const [d] = await store.decisionsSince(new Date(0), 10);
  expect(d).toMatchObject({ actionId: 'r1', reviewer: 'fiona', decision: 'rejected', canary: false, queuedAt: queued, slaClass: 'high' });
  expect(d.dwellMs).toBe(at.getTime() - shown.getTime());
  // The decision's event stays stored for the outbox: decision quality takes nothing from a real decision.
  expect((await items.decisionEvent('r1'))?.event.data).toMatchObject({ decision: 'rejected' });
  // Sampled (rate 1) for a blind second review that neither fiona nor the proposer may take.
  expect(await store.openSecondReviews('fiona', ['reviewer'], 10)).toEqual([]);
  expect(await store.openSecondReviews('support-copilot', ['reviewer'], 10)).toEqual([]);
  expect((await store.openSecondReviews('bob', ['reviewer'], 10)).map((r) => [r.actionId, r.firstDecision])).toEqual([['r1', 'rejected']]);
});

it('records every approver of a quorum as they come, without dwell for one the inbox never served', async () => {
  const { items, store } = await setUp({});
  await items.add(reviewItem('q1', due, { quorum: 2 }));
  await store.cardShown('q1', 'fiona', new Date(Date.now() - 5_000));
  await items.addApproval('q1', 'fiona', 'fine');
  await items.addApproval('q1', 'fiona', 'fine again'); // a retry is no second decision
  await items.addApproval('q1', 'bob', 'fine');
  const ds = await store.decisionsSince(new Date(0), 10);
  expect(ds.map((d) => [d.reviewer, d.decision, d.dwellMs === undefined])).toEqual(
    expect.arrayContaining([
      ['fiona', 'approved', false],
      ['bob', 'approved', true],
    ]),
  );
  expect(ds).toHaveLength(2);
});

it('queues a canary beside a real refund; deciding it stores its event as never to publish, and records a miss', async () => {
  const { raw, items, store, quality } = await setUp({ canaries: { rate: 1, templates: [TEMPLATE] } });
  const risk = { score: 30, rulesFired: ['amount-over-threshold'], riskClass: 'medium' };
  const t0 = Date.now(); // one reading: the item's times are whole SLA shares apart
  const real = reviewItem('real', new Date(t0 + 3600_000).toISOString(), {
    ...risk,
    createdAt: new Date(t0).toISOString(),
    slaSeconds: 3600,
    escalateAt: new Date(t0 + 1800_000).toISOString(),
    escalateTo: ['finance-lead'],
    fallbackTeam: 'finance-oncall',
  });
  expect(await items.add(real)).toBe(true);
  const pending = await raw.pending(10);
  const canary = pending.find((i) => i.actionId !== 'real')!;
  expect(pending).toHaveLength(2);
  expect(canary).toMatchObject({ kind: 'approval', slaClass: 'high', requiredRoles: ['reviewer'], proposal: { actionType: 'support.refund' } });
  // The template's parameters, varied: no number repeats from one canary to the next (canary-variation.spec.ts).
  expect(canary.proposal.parameters).toMatchObject({ currency: 'EUR', reason: TEMPLATE.parameters.reason });
  expect(canary.proposal.parameters.amount).toBeGreaterThan(4000);
  // With no contract to assess it, the real item's reasons and risk, in the policy's words, and its clock: an
  // escalation half-way, the same roles gained, the same fallback team (red team: a canary without them stood out).
  expect(canary).toMatchObject({ reasons: ['amount above limit'], ...risk, slaSeconds: 3600, escalateTo: ['finance-lead'], fallbackTeam: 'finance-oncall' });
  expect(Date.parse(canary.escalateAt!) - Date.parse(canary.createdAt)).toBe(1800_000);
  expect(Date.parse(canary.dueAt) - Date.parse(canary.createdAt)).toBe(3600_000);
  expect(canary.reasons).not.toEqual(TEMPLATE.reasons);
  expect(quality.isCanary(canary)).toBe(true);
  expect(quality.isCanary((await raw.get('real'))!)).toBe(false);
  expect(await store.canary(canary.actionId)).toMatchObject({ template: TEMPLATE.id, actionType: 'support.refund' });

  // fiona approves the canary: the item is decided, its event stored marked published (nothing to publish, ever), so a
  // retry is answered from it as any retry is.
  const event = decisionEvent(canary, 'approved', 'fiona');
  const outcome = await items.decide(canary.actionId, 'approved', ['fiona'], 'looks fine', new Date(), event);
  expect(outcome).toBeUndefined();
  expect((await raw.get(canary.actionId))?.status).toBe('approved');
  expect((await raw.decisionEvent(canary.actionId))?.publishedAt).toBeDefined();
  expect((await items.decisionEvent(canary.actionId))?.event.id).toBe(event.event.id);
  expect(await raw.unpublished(new Date(Date.now() + 60_000), 10)).toEqual([]);
  expect((await store.unauditedMisses(10)).map((m) => [m.actionId, m.reviewer, m.canary])).toEqual([[canary.actionId, 'fiona', true]]);
});

it('the clock escalates and expires a canary as any item, and none of its events is ever left to publish', async () => {
  const { raw, items } = await setUp({ canaries: { rate: 1, templates: [TEMPLATE] } });
  const t0 = Date.now();
  const due = new Date(t0 + 3600_000).toISOString();
  const at = new Date(t0).toISOString();
  await items.add(reviewItem('real', due, { createdAt: at, escalateAt: new Date(t0 + 1800_000).toISOString(), escalateTo: ['finance-lead'] }));
  const canary = (await raw.pending(10)).find((i) => i.actionId !== 'real')!;

  // Past the escalation time: both escalate, with their events stored in the same write; the clock hears of the real one only.
  const halfway = new Date(Date.now() + 2700_000);
  const escalated = await items.claimDue(halfway, 10, escalateOrExpire(halfway));
  expect(escalated.map((c) => [c.item.actionId, c.step])).toEqual([['real', 'escalate']]);
  expect((await raw.get(canary.actionId))!).toMatchObject({ requiredRoles: ['reviewer', 'finance-lead'], clockStep: 1 });
  const later = new Date(Date.now() + 7200_000);
  expect((await raw.unpublishedClockEvents(later, 10)).map((e) => e.actionId)).toEqual(['real']);

  // Past the due time: both expire, decided by the queue with the reason any expiry has; only the real one's event goes out.
  const expired = await items.claimDue(later, 10, escalateOrExpire(later));
  expect(expired.map((c) => [c.item.actionId, c.step])).toEqual([['real', 'expire']]);
  expect((await raw.get(canary.actionId))!).toMatchObject({ status: 'expired', deciders: ['review-queue'], decisionReason: 'sla_expired' });
  expect((await raw.unpublished(later, 10)).map((e) => e.actionId)).toEqual(['real']);

  // Left unmarked by a stop between the two writes: the outbox's and the clock's looks still never see a canary's event.
  const second = await setUp({ canaries: { rate: 1, templates: [TEMPLATE] } });
  await second.items.add(reviewItem('real2', due, { createdAt: at, escalateAt: new Date(t0 + 1800_000).toISOString() }));
  const canary2 = (await second.raw.pending(10)).find((i) => i.actionId !== 'real2')!;
  await second.raw.claimDue(later, 10, escalateOrExpire(halfway)); // the store alone: stepped, nothing marked
  await second.raw.claimDue(later, 10, escalateOrExpire(later));
  expect((await second.raw.unpublishedClockEvents(later, 10)).map((e) => e.actionId).sort()).toEqual([canary2.actionId, 'real2'].sort());
  expect((await second.items.unpublishedClockEvents(later, 10)).map((e) => e.actionId)).toEqual(['real2']);
  expect((await second.items.unpublished(later, 10)).map((e) => e.actionId)).toEqual(['real2']);
  // …and marked now: the next look of the store alone finds only the real one's.
  expect((await second.raw.unpublished(later, 10)).map((e) => e.actionId)).toEqual(['real2']);
  expect((await second.raw.unpublishedClockEvents(later, 10)).map((e) => e.actionId)).toEqual(['real2']);
});

it('a canary joins the queue after a random delay, not on the heels of the real item', async () => {
  const held: Array<{ release: () => void; ms: number }> = [];
  const { raw, items, store } = await setUp(
    { canaries: { rate: 1, templates: [TEMPLATE] } },
    { random: () => 0.5, schedule: (release, ms) => held.push({ release, ms }) },
  );
  await items.add(reviewItem('real', new Date(Date.now() + 3600_000).toISOString(), { createdAt: new Date().toISOString() }));
  expect((await raw.pending(10)).map((i) => i.actionId)).toEqual(['real']);
  // Half of the longest delay (a quarter of the one-hour SLA is longer): nothing stored meanwhile.
  expect(held.map((h) => h.ms)).toEqual([CANARY_MAX_DELAY_MS / 2]);
  expect(await store.openCanaries(10)).toEqual([]);
  const released = Date.now();
  held[0].release();
  await eventually(async () => expect(await raw.pending(10)).toHaveLength(2));
  const canary = (await raw.pending(10)).find((i) => i.actionId !== 'real')!;
  expect(Date.parse(canary.createdAt)).toBeGreaterThanOrEqual(released - 1);
  expect((await store.openCanaries(10)).map((c) => c.actionId)).toEqual([canary.actionId]);
});

it('assesses a canary by the running contract, as the policy engine would: its own score, rules, reasons and routing', async () => {
  const running = RunningContract.fromFile(PROJECT_CONTRACT_PATH);
  const { raw, items, sealer } = await setUp({ canaries: { rate: 1, templates: [TEMPLATE] } }, { policy: () => running.compiledContract() });
  const real = reviewItem('real', new Date(Date.now() + 3600_000).toISOString(), { score: 1, rulesFired: ['copied'], riskClass: 'low' });
  await items.add(real);
  const canary = (await raw.pending(10)).find((i) => i.actionId !== 'real')!;
  // As the policy engine decides a refund of this amount that is the first on its order and customer: the aggregate
  // limits it exceeds alone fire on the canary too (red team, round 15: every real refund above them showed them).
  const opened = sealer.open(canary.actionId, canary.sealed!);
  const aggregateLimited = await checkAggregateLimits(running.compiledContract(), opened, canary.actionId, createInMemoryRateLimiter(), new Date());
  expect(aggregateLimited).toContain('refunds-per-order');
  const expected = evaluate(running.compiledContract(), opened, {
    killSwitch: 'on',
    degradationMode: 'normal',
    trustStackHealthy: true,
    autonomy: 'autonomous',
    aggregateLimited,
    now: new Date(),
  });
  expect(expected.lane).toBe('review');
  expect(expected.rulesFired).toContain('aggregate-limit:refunds-per-order');
  expect(canary).toMatchObject({
    score: expected.score,
    rulesFired: expected.rulesFired,
    riskClass: expected.riskClass,
    reasons: expected.reasons,
    slaClass: expected.review!.slaClass,
    requiredRoles: expected.review!.requiredRoles,
    quorum: expected.review!.quorum,
    slaSeconds: expected.review!.slaSeconds,
  });
  expect(canary.rulesFired).not.toEqual(['copied']);
});

it('samples a canary decision for a blind second review like any (an item under second review is not known to be real)', async () => {
  const { raw, items, store } = await setUp({ canaries: { rate: 1, templates: [TEMPLATE] }, secondReview: { rate: 1 } });
  await items.add(reviewItem('real', new Date(Date.now() + 3600_000).toISOString()));
  const canary = (await raw.pending(10)).find((i) => i.actionId !== 'real')!;
  await items.decide(canary.actionId, 'approved', ['fiona'], 'fine', new Date(), decisionEvent(canary, 'approved', 'fiona'));
  expect((await store.openSecondReviews('bob', ['reviewer'], 10)).map((r) => [r.actionId, r.firstDecision])).toEqual([[canary.actionId, 'approved']]);
  expect(await store.openSecondReviews('fiona', ['reviewer'], 10)).toEqual([]);
});

it('counts an approval with changes of a canary as a miss, as an approval of it is', async () => {
  const { raw, items, store } = await setUp({ canaries: { rate: 1, templates: [TEMPLATE] } });
  expect(await items.add(reviewItem('real', new Date(Date.now() - 1000).toISOString()))).toBe(true);
  const canary = (await raw.pending(10)).find((i) => i.actionId !== 'real')!;
  expect(await items.decide(canary.actionId, 'revised', ['fiona'], 'refund the item only', new Date())).toBeUndefined();
  expect((await store.unauditedMisses(10)).map((m) => [m.actionId, m.reviewer, m.canary])).toEqual([[canary.actionId, 'fiona', true]]);
});

it('brings no canary beside an item of another action type or an audit sample', async () => {
  const { raw, items } = await setUp({ canaries: { rate: 1, templates: [TEMPLATE] } });
  const base = reviewItem('x', due);
  await items.add(reviewItem('reply', due, { proposal: { ...base.proposal, actionType: 'support.reply' } }));
  await items.add(reviewItem('sample', due, { kind: 'audit-sample' }));
  expect((await raw.pending(10)).map((i) => i.actionId).sort()).toEqual(['reply', 'sample']);
});

it('passes the approval completing a quorum on with the decision (docs/adr/0028): counted, and recorded as a decision once', async () => {
  const { items, store } = await setUp({});
  await items.add(reviewItem('q9', due, { quorum: 1 }));
  const item = (await items.get('q9'))!;
  const decided = await items.decide('q9', 'approved', ['fiona'], 'fine', new Date(), decisionEvent(item, 'approved', 'fiona'), {
    approval: { approver: 'fiona', reason: 'fine', after: [] },
    claimant: 'fiona',
  });
  expect(decided).toMatchObject({ status: 'approved', approvedBy: ['fiona'] });
  expect((await items.approvals('q9')).map((a) => a.approver)).toEqual(['fiona']);
  expect((await store.decisionsSince(new Date(0), 10)).map((d) => [d.actionId, d.reviewer, d.decision])).toEqual([['q9', 'fiona', 'approved']]);
});
