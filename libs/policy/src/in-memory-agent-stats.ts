import { AgentStats, bucketKey, StatsSample, StatsWindows, statsPlan, sumBuckets } from './agent-stats';
import type { AgentWindowStats } from './anomaly';

interface Bucket {
  count: number;
  confidenceSum: number;
  autonomous: number;
  /** The event time (epoch ms) of its earliest proposal. */
  first: number;
  /** Wall-clock ms after which nothing reads it. */
  expiresAt: number;
  /** Action ids already added (coarse buckets only: they live as long as a redelivery matters). */
  ids?: Set<string>;
}

/** Observations between two sweeps of expired buckets. */
const SWEEP_EVERY = 1000;

/**
 * The in-process statistics: the embedded mode's and the tests'; the same buckets as the Redis adapter (and the
 * same shared suite). Forgotten on a restart: the rules then start cold, where only the absolute ceilings fire.
 */
export class InMemoryAgentStats implements AgentStats {
  private readonly buckets = new Map<string, Bucket>();
  private calls = 0;

  constructor(private readonly clock: () => number = Date.now) {}

  async observe(series: string, actionId: string, sample: StatsSample, windows: StatsWindows, now: Date): Promise<AgentWindowStats> {
    const plan = statsPlan(windows, now);
    const wall = this.clock();
    if (++this.calls % SWEEP_EVERY === 0) for (const [k, b] of this.buckets) if (b.expiresAt <= wall) this.buckets.delete(k);
    // The action's id is kept in its coarse bucket: the same event time puts a redelivery in the same one.
    const coarse = this.bucket(bucketKey(series, plan.coarse.widthMs, plan.coarse.current), wall + plan.coarse.ttlMs);
    coarse.ids ??= new Set();
    if (!coarse.ids.has(actionId)) {
      coarse.ids.add(ownString(actionId));
      const fine = this.bucket(bucketKey(series, plan.fine.widthMs, plan.fine.current), wall + plan.fine.ttlMs);
      for (const b of [coarse, fine]) {
        b.count += 1;
        b.confidenceSum += sample.confidence;
        b.autonomous += sample.autonomous ? 1 : 0;
        b.first = Math.min(b.first, now.getTime());
      }
    }
    const read = (range: typeof plan.short) => {
      const found = [];
      for (let i = range.from; i <= range.to; i++) {
        const b = this.buckets.get(bucketKey(series, range.widthMs, i));
        if (b && b.expiresAt > wall) found.push(b);
      }
      return found;
    };
    return { short: sumBuckets(read(plan.short), plan.short), baseline: sumBuckets(read(plan.baseline), plan.baseline, true) };
  }

  private bucket(key: string, expiresAt: number): Bucket {
    let b = this.buckets.get(key);
    if (!b || b.expiresAt <= this.clock()) this.buckets.set(key, (b = { count: 0, confidenceSum: 0, autonomous: 0, first: Infinity, expiresAt }));
    b.expiresAt = Math.max(b.expiresAt, expiresAt);
    return b;
  }
}

/**
 * `id` as a string of its own: one parsed out of a message is a slice of that message's text (V8), and kept in a bucket
 * it kept the whole proposal message for the bucket's life (heap snapshot after a soak, 2026-12-06).
 */
const ownString = (id: string) => Buffer.from(id, 'utf8').toString('utf8');

/** In-process agent statistics: the embedded mode's. */
export const createInMemoryAgentStats = (): AgentStats => new InMemoryAgentStats();
