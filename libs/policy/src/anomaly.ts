import type { AnomalyRule } from './contract.types';

/** One window of an agent's proposals: how many, their summed confidence, how many the contract let run on their own. */
export interface WindowStats {
  count: number;
  confidenceSum: number;
  autonomous: number;
  /** The span the window covered, in seconds (buckets make it a little off the rule's window). */
  seconds: number;
}

/** An agent's short window (the proposal being decided included) and its baseline (the long window before it). */
export interface AgentWindowStats {
  short: WindowStats;
  baseline: WindowStats;
}

// Means are compared at this precision: float sums must not make 0.85 - 0.70 "more than 0.15".
const round = (x: number) => Math.round(x * 1e9) / 1e9;
const shown = (x: number) => String(Math.round(x * 1000) / 1000);

/**
 * Why an anomaly rule fires for a proposal of `actionType` under these statistics, in plain words with the
 * numbers; undefined when it stays quiet. Quiet below `minCount` proposals in the short window (three proposals
 * are not a trend), and on a cold start (a baseline of fewer than `baselineMinCount`) only the absolute
 * ceilings fire: a rise needs something to rise from. No statistics (the policy CLI, a diff) is no finding.
 */
export function anomalyOf(rule: AnomalyRule, actionType: string, stats: AgentWindowStats | undefined): string | undefined {
  if (!stats || (rule.actionTypes && !rule.actionTypes.includes(actionType))) return undefined;
  const { short, baseline } = stats;
  if (!(short.count >= rule.minCount)) return undefined;
  const warm = baseline.count >= (rule.baselineMinCount ?? rule.minCount);
  const shortSpan = `${short.count} proposals in the last ${short.seconds ?? rule.shortWindowSeconds} s`;
  const baseSpan = `${baseline.count} proposals over the ${baseline.seconds ?? rule.baselineWindowSeconds - rule.shortWindowSeconds} s before`;
  if (rule.kind === 'volume-rise') {
    const rate = round(short.count / ((short.seconds ?? rule.shortWindowSeconds) / 60));
    if (rule.ceilingPerMinute !== undefined && rate >= rule.ceilingPerMinute)
      return `${shown(rate)} proposals per minute (${shortSpan}) reach the ceiling of ${rule.ceilingPerMinute} per minute`;
    const span = baseline.seconds ?? rule.baselineWindowSeconds - rule.shortWindowSeconds;
    const before = span > 0 ? round(baseline.count / (span / 60)) : 0;
    if (warm && rule.factor !== undefined && before > 0 && rate >= rule.factor * before)
      return `${shown(rate)} proposals per minute (${shortSpan}) are ${shown(rate / before)} times the baseline of ${shown(before)} per minute (${baseSpan}), at least ${rule.factor} times`;
    return undefined;
  }
  const what = rule.kind === 'confidence-rise' ? 'mean confidence' : 'share of autonomous proposals';
  const of = (w: WindowStats) => round((rule.kind === 'confidence-rise' ? w.confidenceSum : w.autonomous) / w.count);
  const now = of(short);
  // The rise first: against the agent's own baseline it says more than the ceiling does.
  if (warm && rule.by !== undefined) {
    const before = of(baseline);
    if (round(now - before) > rule.by) return `${what} rose from ${shown(before)} (${baseSpan}) to ${shown(now)} (${shortSpan}), more than ${rule.by}`;
  }
  if (rule.ceiling !== undefined && now > rule.ceiling) return `${what} ${shown(now)} (${shortSpan}) is above the ceiling ${rule.ceiling}`;
  return undefined;
}
