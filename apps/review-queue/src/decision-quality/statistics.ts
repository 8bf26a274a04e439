// Decision-quality statistics (ADR 0018): pure functions over the recorded decisions, unit-tested, no I/O.
import type { DecisionSummary, ReviewerDecision, SecondReview } from './decision-quality.store';

/** The order of the statistics per reviewer (and per class): by name, as a person reads them. */
export const byReviewer = (a: { reviewer: string }, b: { reviewer: string }): number => a.reviewer.localeCompare(b.reviewer);
export const byReviewerAndClass = (a: { reviewer: string; slaClass: string }, b: { reviewer: string; slaClass: string }): number =>
  byReviewer(a, b) || a.slaClass.localeCompare(b.slaClass);

export const median = (xs: number[]): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/**
 * Robust z-scores: (x − median) / (1.4826 · MAD). The median absolute deviation ignores the outliers it is meant to
 * find (a mean and standard deviation are dragged by them).
 */
export function robustZ(xs: number[]): number[] {
  const med = median(xs);
  const deviations = xs.map((x) => Math.abs(x - med));
  // Most peers exactly alike (MAD 0): the mean absolute deviation scaled alike, so one differing peer is not infinite.
  const scale = median(deviations) * 1.4826 || (deviations.reduce((a, b) => a + b, 0) / xs.length) * 1.2533;
  return xs.map((x) => (x === med ? 0 : scale === 0 ? 0 : (x - med) / scale));
}

/**
 * Decisions with each dwell bounded by the time since the same reviewer's decision before it: one person attends to
 * one item at a time. Dwell counts from the card first shown, so a reviewer who opened every item as it arrived and
 * approved twelve in one second later showed a median dwell of 34 s, a careful reader's (red team, 2026-12-06); bounded,
 * each of those approvals had a tenth of a second. Canaries are decisions too, and take the same attention.
 */
export function withAttention(ds: ReviewerDecision[]): ReviewerDecision[] {
  const last = new Map<string, number>();
  const order = ds.map((d, i) => ({ d, i, at: Date.parse(d.decidedAt) })).sort((a, b) => a.at - b.at || a.i - b.i);
  const out = [...ds];
  for (const { d, i, at } of order) {
    const before = last.get(d.reviewer);
    last.set(d.reviewer, at);
    if (d.dwellMs === undefined || before === undefined || at - before >= d.dwellMs) continue;
    out[i] = { ...d, dwellMs: at - before };
  }
  return out;
}

/**
 * Adds `value` to the list under `key`, in place. A copy of the list per value (`[...list, value]`) made a page of 50,000
 * decisions by five reviewers cost 0.7 s of the review queue's event loop, every reviewer waiting (2026-12-07).
 */
function into<K, V>(by: Map<K, V[]>, key: K, value: V): void {
  const list = by.get(key);
  if (list) list.push(value);
  else by.set(key, [value]);
}

export interface ReviewerStats {
  reviewer: string;
  decisions: number;
  approvalRate: number;
  /** Median dwell (ms) of their decisions with a dwell (`withAttention`); NaN when none has one. */
  medianDwellMs: number;
  /**
   * Their decisions with no view recorded before them (no dwell): taken through the JSON API without reading the item
   * first. They cannot make a dwell outlier, so leads see them counted here (red team, 2026-12-05).
   */
  unseen: number;
}

export function reviewerStats(ds: ReviewerDecision[]): ReviewerStats[] {
  const by = new Map<string, ReviewerDecision[]>();
  // Canaries are a test of the reviewer, not part of their ordinary work: they are counted on their own.
  for (const d of withAttention(ds)) if (!d.canary) into(by, d.reviewer, d);
  return [...by.entries()]
    .map(([reviewer, mine]) => ({
      reviewer,
      decisions: mine.length,
      approvalRate: mine.filter((d) => d.decision === 'approved').length / mine.length,
      medianDwellMs: median(mine.flatMap((d) => (d.dwellMs === undefined ? [] : [d.dwellMs]))),
      unseen: mine.filter((d) => d.dwellMs === undefined).length,
    }))
    .sort(byReviewer);
}

export interface Outlier {
  reviewer: string;
  metric: 'approval rate' | 'dwell time';
  value: number;
  peersMedian: number;
  z: number;
}

/**
 * Reviewers far from their peers: a robust z-score beyond `threshold` on approval rate or median dwell, among the
 * reviewers with at least `minDecisions` decisions (fewer is no pattern). Needs three such reviewers (two have no
 * "peers' median" that either is far from).
 */
export function outliers(stats: ReviewerStats[], o: { minDecisions: number; threshold: number }): Outlier[] {
  const out: Outlier[] = [];
  const enough = stats.filter((s) => s.decisions >= o.minDecisions);
  const check = (metric: Outlier['metric'], pick: (s: ReviewerStats) => number) => {
    const rows = enough.filter((s) => Number.isFinite(pick(s)));
    if (rows.length < 3) return;
    const values = rows.map(pick);
    const zs = robustZ(values);
    const med = median(values);
    rows.forEach((s, i) => {
      if (Math.abs(zs[i]) > o.threshold) out.push({ reviewer: s.reviewer, metric, value: values[i], peersMedian: med, z: zs[i] });
    });
  };
  check('approval rate', (s) => s.approvalRate);
  check('dwell time', (s) => s.medianDwellMs);
  return out;
}

/** Median dwell (ms, `withAttention`) per reviewer and SLA class, of decisions with a dwell (canaries included: they were decided like any). */
export function dwellByReviewerAndClass(ds: ReviewerDecision[]): Array<{ reviewer: string; slaClass: string; medianDwellMs: number; n: number }> {
  const by = new Map<string, number[]>();
  for (const d of withAttention(ds)) if (d.dwellMs !== undefined) into(by, `${d.reviewer}\u0000${d.slaClass}`, d.dwellMs);
  return [...by.entries()]
    .map(([k, xs]) => {
      const [reviewer, slaClass] = k.split('\u0000');
      return { reviewer, slaClass, medianDwellMs: median(xs), n: xs.length };
    })
    .sort(byReviewerAndClass);
}

/** Canaries caught (rejected) and missed (approved) per reviewer. */
export function canariesByReviewer(ds: ReviewerDecision[]): Array<{ reviewer: string; caught: number; missed: number }> {
  const by = new Map<string, { caught: number; missed: number }>();
  for (const d of ds.filter((x) => x.canary)) {
    const c = by.get(d.reviewer) ?? { caught: 0, missed: 0 };
    if (d.decision === 'approved') c.missed++;
    else c.caught++;
    by.set(d.reviewer, c);
  }
  return [...by.entries()].map(([reviewer, c]) => ({ reviewer, ...c })).sort(byReviewer);
}

/**
 * Agreement of blind second reviews with the first decision, per SLA class; the disagreements, for leads to look at.
 * A canary's second review (`canaries`: their action ids) tests the second reviewer, as its first decision did the first:
 * counted as a catch or a miss, not as agreement (red team, 2026-12-06: a canary approved first and rejected second
 * showed as a disagreement of the class).
 */
export function agreementByClass(
  rs: SecondReview[],
  canaries: ReadonlySet<string> = new Set(),
): {
  byClass: Array<{ slaClass: string; agreed: number; total: number; rate: number }>;
  disagreements: SecondReview[];
} {
  const done = rs.filter((r) => r.verdict && !canaries.has(r.actionId));
  const by = new Map<string, { agreed: number; total: number }>();
  for (const r of done) {
    const c = by.get(r.slaClass) ?? { agreed: 0, total: 0 };
    c.total++;
    if (r.verdict === r.firstDecision) c.agreed++;
    by.set(r.slaClass, c);
  }
  return {
    byClass: [...by.entries()].map(([slaClass, c]) => ({ slaClass, ...c, rate: c.agreed / c.total })).sort((a, b) => a.slaClass.localeCompare(b.slaClass)),
    disagreements: done.filter((r) => r.verdict !== r.firstDecision),
  };
}

/** What the governance page shows of `ds` (`DecisionSummary`): the reference every store's `decisionSummary` is held to. */
export function summarize(ds: ReviewerDecision[], latencyEdgesMin: number[]): DecisionSummary {
  const human = ds.filter((d) => !d.canary);
  const rejectionsByDay: Record<string, number> = {};
  for (const d of human) if (d.decision === 'rejected') rejectionsByDay[d.decidedAt.slice(0, 10)] = (rejectionsByDay[d.decidedAt.slice(0, 10)] ?? 0) + 1;
  return {
    reviewers: reviewerStats(ds),
    dwell: dwellByReviewerAndClass(ds),
    canaries: canariesByReviewer(ds),
    canaryIds: ds
      .filter((d) => d.canary)
      .map((d) => d.actionId)
      .sort(),
    latency: histogram(
      human.map((d) => (Date.parse(d.decidedAt) - Date.parse(d.queuedAt)) / 60_000),
      latencyEdgesMin,
    ),
    rejectionsByDay,
  };
}

/** Counts of `xs` in buckets bounded by `edges` (ascending upper bounds; a last bucket takes the rest). */
export function histogram(xs: number[], edges: number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const x of xs) {
    const i = edges.findIndex((e) => x <= e);
    counts[i < 0 ? edges.length : i]++;
  }
  return counts;
}

/** A random source in [0, 1): `Math.random` in the service, a fixed sequence in tests. */
export type Random = () => number;

/** True with probability `rate` (0 never, 1 always). */
export const sampled = (rate: number, random: Random): boolean => rate > 0 && random() < rate;
