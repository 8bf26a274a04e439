import pino from 'pino';
import { createPgPool, Pool } from '@countersign/storage';
import { createTestDatabase } from '@countersign/testing';
import { decisionEvent, reviewItem } from '../review-item/review-item.suite';
import { PgReviewItemRepository } from '../review-item/pg-review-item.repository';
import type { ReviewItemRepository } from '../review-item/review-item.repository';
import { generateReviewDataKey, parseReviewDataKey, ProposalSealer } from '../review-item/sealed-proposal';
import { DecisionQuality, DecisionQualityContract } from './decision-quality';
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
  for (const c of cleanups) await c();
}, 60_000);

async function setUp(contract: DecisionQualityContract) {
  const db = await createTestDatabase('quality-tracking');
  const pool: Pool = createPgPool(db.url);
  cleanups.push(async () => {
    await pool.end();
    await db.drop();
  });
  const raw = new PgReviewItemRepository(pool);
  const store: DecisionQualityStore = new PgDecisionQualityStore(pool);
  const dataKey = parseReviewDataKey(generateReviewDataKey());
  const quality = new DecisionQuality({ store, contract, random: () => 0 }, dataKey, new ProposalSealer(dataKey));
  const items: ReviewItemRepository = withDecisionQuality(raw, quality, pino({ level: 'silent' }));
  return { raw, items, store, quality };
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

it('queues a canary beside a real refund; deciding it stores no event, records a miss, and the clock never steps it', async () => {
  const { raw, items, store, quality } = await setUp({ canaries: { rate: 1, templates: [TEMPLATE] } });
  const risk = { score: 30, rulesFired: ['amount-over-threshold'], riskClass: 'medium' };
  expect(await items.add(reviewItem('real', new Date(Date.now() - 1000).toISOString(), risk))).toBe(true);
  const pending = await raw.pending(10);
  const canary = pending.find((i) => i.actionId !== 'real')!;
  expect(pending).toHaveLength(2);
  expect(canary).toMatchObject({ kind: 'approval', slaClass: 'high', requiredRoles: ['reviewer'], proposal: { actionType: 'support.refund' } });
  // The template's parameters, varied: no number repeats from one canary to the next (canary-variation.spec.ts).
  expect(canary.proposal.parameters).toMatchObject({ currency: 'EUR', reason: TEMPLATE.parameters.reason });
  expect(canary.proposal.parameters.amount).toBeGreaterThan(4000);
  // Its reasons and risk are the real item's, in the policy's words: nothing on the card sets it apart.
  expect(canary).toMatchObject({ reasons: ['amount above limit'], ...risk });
  expect(canary.reasons).not.toEqual(TEMPLATE.reasons);
  expect(quality.isCanary(canary)).toBe(true);
  expect(quality.isCanary((await raw.get('real'))!)).toBe(false);
  expect(await store.canary(canary.actionId)).toMatchObject({ template: TEMPLATE.id, actionType: 'support.refund' });

  // The clock finds both due (the canary took the real item's SLA); it steps only the real one.
  const seen: string[] = [];
  await items.claimDue(new Date(Date.now() + 2 * 3600_000), 10, (i) => {
    seen.push(i.actionId);
    return undefined;
  });
  expect(seen).toEqual(['real']);

  // fiona approves the canary: the item is decided, but no event is stored (nothing to publish, ever).
  const outcome = await items.decide(canary.actionId, 'approved', ['fiona'], 'looks fine', new Date(), decisionEvent(canary, 'approved', 'fiona'));
  expect(outcome).toBeUndefined();
  expect((await raw.get(canary.actionId))?.status).toBe('approved');
  expect(await raw.decisionEvent(canary.actionId)).toBeUndefined();
  expect(await raw.unpublished(new Date(Date.now() + 60_000), 10)).toEqual([]);
  expect((await store.unauditedMisses(10)).map((m) => [m.actionId, m.reviewer, m.canary])).toEqual([[canary.actionId, 'fiona', true]]);
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
