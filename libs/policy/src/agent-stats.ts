import { createHash } from 'node:crypto';
import type { AgentWindowStats, WindowStats } from './anomaly';
import type { CompiledContract, DecisionInputs, ProposalInput } from './evaluate';
import { evaluate } from './evaluate';

/** What one proposal adds to its agent's statistics. */
export interface StatsSample {
  /** In [0, 1]. */
  confidence: number;
  /** Whether the contract let it run on its own (see `contractLaneOf`). */
  autonomous: boolean;
}

/** An anomaly rule's two windows. */
export interface StatsWindows {
  shortSeconds: number;
  baselineSeconds: number;
}

/**
 * Windowed statistics of each agent's proposals, for the contract's anomaly rules (anomaly.ts). A series is one
 * rule and one agent. `observe` adds a proposal once per action id (a redelivered proposal adds nothing) and
 * answers the short window, that proposal included, and the baseline before it. The in-process twin
 * (in-memory-agent-stats.ts) serves the embedded mode and tests; a Redis one serves several instances. An
 * adapter that cannot answer throws (a dependency error is retried): it never answers "nothing unusual".
 */
export interface AgentStats {
  observe(series: string, actionId: string, sample: StatsSample, windows: StatsWindows, now: Date): Promise<AgentWindowStats>;
}

/** Buckets per window: a window is read as this many buckets, so it is off by at most one bucket (1/60). */
export const BUCKETS_PER_WINDOW = 60;

/** Buckets of one width, `from` to `to` inclusive; bucket k covers [k·width, (k+1)·width) in epoch ms. */
export interface BucketRange {
  widthMs: number;
  from: number;
  to: number;
}

/**
 * Where a proposal at `now` is counted and what is read, the same for every adapter: fine buckets (a sixtieth
 * of the short window) for the short window, coarse ones (a sixtieth of the baseline) for the baseline, which
 * ends before the short window starts so that a burst does not raise its own baseline. Each proposal is added
 * to the fine and the coarse bucket of its time; `ttlMs` is how long each must be kept to be read.
 */
export function statsPlan(windows: StatsWindows, now: Date) {
  const t = now.getTime();
  const shortMs = windows.shortSeconds * 1000;
  const fineMs = Math.ceil(shortMs / BUCKETS_PER_WINDOW);
  const coarseMs = Math.ceil((windows.baselineSeconds * 1000) / BUCKETS_PER_WINDOW);
  const short: BucketRange = { widthMs: fineMs, from: Math.floor((t - shortMs) / fineMs) + 1, to: Math.floor(t / fineMs) };
  const baseline: BucketRange = {
    widthMs: coarseMs,
    from: Math.floor((t - windows.baselineSeconds * 1000) / coarseMs) + 1,
    to: Math.floor((t - shortMs) / coarseMs) - 1,
  };
  return {
    fine: { widthMs: fineMs, current: Math.floor(t / fineMs), ttlMs: shortMs + 2 * fineMs },
    coarse: { widthMs: coarseMs, current: Math.floor(t / coarseMs), ttlMs: windows.baselineSeconds * 1000 + 2 * coarseMs },
    short,
    baseline,
  };
}

/** The seconds a range of buckets covers. */
export const spanSeconds = (r: BucketRange) => (Math.max(0, r.to - r.from + 1) * r.widthMs) / 1000;

/** A bucket as stored: its sums, and the time (epoch ms) of the earliest proposal in it. */
export interface StoredBucket {
  count: number;
  confidenceSum: number;
  autonomous: number;
  first?: number;
}

/**
 * Sums the buckets a window reads, in order (absent buckets count nothing). With `sinceFirst` (the baseline) the
 * window's seconds start at its earliest proposal: an agent that began an hour ago has an hour of baseline, not a
 * day of which 23 hours were silent (its rate would look a twentieth of what it is).
 */
export function sumBuckets(buckets: Array<StoredBucket | undefined>, range: BucketRange, sinceFirst = false): WindowStats {
  const total = { count: 0, confidenceSum: 0, autonomous: 0, seconds: spanSeconds(range) };
  let first: number | undefined;
  for (const b of buckets) {
    if (!b || !b.count) continue;
    total.count += b.count;
    total.confidenceSum += b.confidenceSum;
    total.autonomous += b.autonomous;
    if (b.first !== undefined && Number.isFinite(b.first)) first = Math.min(first ?? b.first, b.first);
  }
  if (sinceFirst && first !== undefined) {
    const end = (range.to + 1) * range.widthMs;
    total.seconds = Math.max(1, Math.ceil((end - Math.max(range.from * range.widthMs, first)) / 1000));
  }
  return total;
}

/** A bucket's key: the series, the width (a rule whose windows change starts afresh) and the bucket's index. */
export const bucketKey = (series: string, widthMs: number, index: number) => `${series}:${widthMs}:${index}`;

/**
 * The lane the contract alone gives a proposal: as if the kill switch were on, the mode normal, the trust stack
 * healthy, autonomy full and no anomaly fired. The autonomous share counts this, so that an operator raising
 * autonomy or a degradation episode is not itself an anomaly, and a burst sent to review keeps being caught.
 */
export function contractLaneOf(
  compiled: CompiledContract,
  p: ProposalInput,
  inputs: Omit<DecisionInputs, 'killSwitch' | 'degradationMode' | 'trustStackHealthy' | 'autonomy'>,
) {
  return evaluate(compiled, p, {
    ...inputs,
    killSwitch: 'on',
    degradationMode: 'normal',
    trustStackHealthy: true,
    autonomy: 'autonomous',
    agentStats: undefined,
  }).lane;
}

/** An agent as a series names it: hashed, so a key holds no caller-chosen text. */
const agentKey = (agentId: unknown) => createHash('sha256').update(String(agentId)).digest('base64url').slice(0, 32);

/**
 * Adds a proposal to its agent's statistics under each anomaly rule that covers its action type, once per
 * action id, and answers each rule's windows, for `evaluate`'s `agentStats`. The agent is the proposer's id.
 */
export async function observeAgentStats(
  compiled: CompiledContract,
  p: ProposalInput,
  actionId: string,
  autonomous: boolean,
  stats: AgentStats,
  now: Date,
): Promise<Record<string, AgentWindowStats>> {
  // An unreadable confidence counts as fully sure: it never makes an agent look calmer than it is.
  const confidence = typeof p.confidence === 'number' && Number.isFinite(p.confidence) ? Math.min(1, Math.max(0, p.confidence)) : 1;
  const rules = (compiled.contract.anomalies ?? []).filter((rule) => !rule.actionTypes || rule.actionTypes.includes(p.actionType));
  // Every rule's series at once: one round trip to a pipelining store, not one per rule.
  const observed = await Promise.all(
    rules.map((rule) =>
      stats.observe(
        `anomaly:${rule.id}:${agentKey(p.proposer?.agentId)}`,
        actionId,
        { confidence, autonomous },
        { shortSeconds: rule.shortWindowSeconds, baselineSeconds: rule.baselineWindowSeconds },
        now,
      ),
    ),
  );
  return Object.fromEntries(rules.map((rule, i) => [rule.id, observed[i]]));
}
