import {
  agreementByClass,
  canariesByReviewer,
  dwellByReviewerAndClass,
  histogram,
  median,
  outliers,
  reviewerStats,
  robustZ,
  sampled,
  withAttention,
} from './statistics';
import type { ReviewerDecision, SecondReview } from './decision-quality.store';

/** Each decision ten minutes after the one before (longer than any dwell here), unless a test says when. */
let decided = Date.parse('2026-11-30T10:00:00.000Z');
const d = (reviewer: string, decision: 'approved' | 'rejected', dwellMs?: number, over: Partial<ReviewerDecision> = {}): ReviewerDecision => ({
  actionId: `${reviewer}-${Math.random()}`,
  reviewer,
  decision,
  slaClass: 'high',
  decidedAt: new Date((decided += 600_000)).toISOString(),
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

  it("bounds a dwell by the time since the reviewer's decision before it: cards opened early and approved in a burst are not read (red team, 2026-12-06)", () => {
    const at = (ms: number) => new Date(Date.parse('2026-12-06T04:02:24.000Z') + ms).toISOString();
    // bob opened 12 cards at 04:01:49 and approved them all within a second 35 s later; alice read each for 40 s.
    const bob = many(12, (i) => d('bob', 'approved', 35_000 + i * 80, { decidedAt: at(i * 80) }));
    const alice = many(12, (i) => d('alice', 'approved', 40_000, { decidedAt: at(40_000 * (i + 1)) }));
    const carol = many(12, (i) => d('carol', 'approved', 30_000, { decidedAt: at(30_000 * (i + 1)) }));
    const dave = many(12, (i) => d('dave', 'approved', 45_000, { decidedAt: at(45_000 * (i + 1)) }));
    // Given in any order: the bound follows the decision times.
    const all = [...bob, ...alice, ...carol, ...dave].reverse();
    const bounded = withAttention(all);
    const bobs = bounded.filter((x) => x.reviewer === 'bob').map((x) => x.dwellMs!);
    expect(bobs.sort((a, b) => a - b)).toEqual([...Array.from({ length: 11 }, () => 80), 35_000]);
    expect(bounded.filter((x) => x.reviewer === 'alice').every((x) => x.dwellMs === 40_000)).toBe(true);
    const stats = reviewerStats(all);
    expect(stats.find((x) => x.reviewer === 'bob')?.medianDwellMs).toBe(80);
    expect(outliers(stats, { minDecisions: 10, threshold: 3 })).toContainEqual(expect.objectContaining({ reviewer: 'bob', metric: 'dwell time' }));
    expect(dwellByReviewerAndClass(all).find((x) => x.reviewer === 'bob')?.medianDwellMs).toBe(80);
    // A decision without a dwell (unseen) stays without one; the first decision keeps its dwell.
    expect(
      withAttention([d('eve', 'approved', undefined, { decidedAt: at(0) }), d('eve', 'approved', 5_000, { decidedAt: at(1_000) })]).map((x) => x.dwellMs),
    ).toEqual([undefined, 1_000]);
  });

  it("leaves a canary's second review out of the agreement: it tests the second reviewer, as it did the first (red team, 2026-12-06)", () => {
    const second = (actionId: string, firstDecision: 'approved' | 'rejected', verdict: 'approved' | 'rejected') =>
      ({
        actionId,
        slaClass: 'high',
        requiredRoles: [],
        firstDecision,
        excluded: ['alice'],
        createdAt: '2026-12-06T04:00:00.000Z',
        reviewer: 'bob',
        verdict,
      }) satisfies SecondReview;
    const { byClass, disagreements } = agreementByClass(
      [second('real-1', 'approved', 'approved'), second('canary-1', 'approved', 'rejected')],
      new Set(['canary-1']),
    );
    expect(byClass).toEqual([{ slaClass: 'high', agreed: 1, total: 1, rate: 1 }]);
    expect(disagreements).toEqual([]);
  });

  it('buckets latencies and samples at the rate the random source says', () => {
    expect(histogram([1, 5, 10, 11, 500], [5, 10, 100])).toEqual([2, 1, 1, 1]);
    const seq = [0.01, 0.5, 0.049, 0.05];
    const random = () => seq.shift()!;
    expect([0, 1, 2, 3].map(() => sampled(0.05, random))).toEqual([true, false, true, false]);
    expect(sampled(0, () => 0)).toBe(false);
  });
});
