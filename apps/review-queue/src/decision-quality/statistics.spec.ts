import { agreementByClass, canariesByReviewer, histogram, median, outliers, reviewerStats, robustZ, sampled } from './statistics';
import type { ReviewerDecision } from './decision-quality.store';

const d = (reviewer: string, decision: 'approved' | 'rejected', dwellMs?: number, over: Partial<ReviewerDecision> = {}): ReviewerDecision => ({
  actionId: `${reviewer}-${Math.random()}`,
  reviewer,
  decision,
  slaClass: 'high',
  decidedAt: '2026-11-30T10:00:00.000Z',
  queuedAt: '2026-11-30T09:00:00.000Z',
  dwellMs,
  canary: false,
  ...over,
});
const many = (n: number, f: (i: number) => ReviewerDecision) => Array.from({ length: n }, (_, i) => f(i));

describe('decision-quality statistics', () => {
  it('takes medians and robust z-scores that one extreme value does not drag', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    const z = robustZ([10, 11, 12, 13, 1000]);
    expect(Math.abs(z[2])).toBe(0);
    expect(z[4]).toBeGreaterThan(100);
    expect(Math.abs(z[0])).toBeLessThan(2);
    // Most alike: the one who differs stands out, finitely.
    const alike = robustZ([0.75, 0.75, 0.75, 0.75, 1]);
    expect(alike[4]).toBeGreaterThan(3);
    expect(Number.isFinite(alike[4])).toBe(true);
  });

  it('flags the reviewer who approves everything in two seconds, not the peers, and only with enough decisions', () => {
    const ds = [
      ...many(20, (i) => d('ann', i % 4 === 0 ? 'rejected' : 'approved', 40_000 + i * 100)),
      ...many(20, (i) => d('ben', i % 5 === 0 ? 'rejected' : 'approved', 45_000 + i * 100)),
      ...many(20, (i) => d('cat', i < 6 ? 'rejected' : 'approved', 38_000 + i * 100)),
      ...many(20, (i) => d('dan', i % 4 === 0 ? 'rejected' : 'approved', 42_000 + i * 100)),
      ...many(20, () => d('rubber', 'approved', 2_000)),
      ...many(5, () => d('newbie', 'approved', 1_000)),
    ];
    const found = outliers(reviewerStats(ds), { minDecisions: 20, threshold: 3 });
    expect(found.map((o) => `${o.reviewer}: ${o.metric}`).sort()).toEqual(['rubber: approval rate', 'rubber: dwell time']);
    expect(outliers(reviewerStats(ds), { minDecisions: 21, threshold: 3 })).toEqual([]);
  });

  it('counts canaries apart: caught when rejected, missed when approved, and not in the approval rate', () => {
    const ds = [d('ann', 'approved', 1000, { canary: true }), d('ann', 'rejected', 1000, { canary: true }), d('ann', 'rejected', 900)];
    expect(canariesByReviewer(ds)).toEqual([{ reviewer: 'ann', caught: 1, missed: 1 }]);
    expect(reviewerStats(ds)).toEqual([{ reviewer: 'ann', decisions: 1, approvalRate: 0, medianDwellMs: 900, unseen: 0 }]);
  });

  it('counts the decisions taken with no view recorded first as unseen, apart from the dwell they do not have (red team, 2026-12-05)', () => {
    const ds = [d('ann', 'approved', 800), d('ann', 'approved', undefined), d('ann', 'rejected', undefined), d('bob', 'approved', 1000)];
    // A canary decided unseen is counted with the canaries, not here.
    ds.push(d('bob', 'approved', undefined, { canary: true }));
    expect(reviewerStats(ds)).toEqual([
      { reviewer: 'ann', decisions: 3, approvalRate: 2 / 3, medianDwellMs: 800, unseen: 2 },
      { reviewer: 'bob', decisions: 1, approvalRate: 1, medianDwellMs: 1000, unseen: 0 },
    ]);
  });

  it('rates second-review agreement per class and lists the disagreements', () => {
    const base = { requiredRoles: [], excluded: [], createdAt: '2026-11-30T10:00:00.000Z', decidedAt: '2026-11-30T10:05:00.000Z', reviewer: 'x' };
    const { byClass, disagreements } = agreementByClass([
      { ...base, actionId: 'a', slaClass: 'high', firstDecision: 'approved', verdict: 'approved' },
      { ...base, actionId: 'b', slaClass: 'high', firstDecision: 'approved', verdict: 'rejected' },
      { ...base, actionId: 'c', slaClass: 'normal', firstDecision: 'rejected', verdict: 'rejected' },
      { ...base, actionId: 'd', slaClass: 'normal', firstDecision: 'rejected', verdict: undefined },
    ]);
    expect(byClass).toEqual([
      { slaClass: 'high', agreed: 1, total: 2, rate: 0.5 },
      { slaClass: 'normal', agreed: 1, total: 1, rate: 1 },
    ]);
    expect(disagreements.map((r) => r.actionId)).toEqual(['b']);
  });

  it('buckets latencies and samples at the rate the random source says', () => {
    expect(histogram([1, 5, 10, 11, 500], [5, 10, 100])).toEqual([2, 1, 1, 1]);
    const seq = [0.01, 0.5, 0.049, 0.05];
    const random = () => seq.shift()!;
    expect([0, 1, 2, 3].map(() => sampled(0.05, random))).toEqual([true, false, true, false]);
    expect(sampled(0, () => 0)).toBe(false);
  });
});
