import { performance } from 'node:perf_hooks';

/** How fast one key (a principal) may go: `perSecond` on average, `burst` at once. */
export interface Rate {
  perSecond: number;
  burst: number;
}

/**
 * A token bucket per key (a principal's id): `burst` at once, then `perSecond`. In process: no dependency to be down,
 * so nothing to fail closed on. The keys kept are the callers' principals, which the tokens file bounds (the proposals
 * door, ADR 0048; reveals; the audit queries).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly rate: Rate,
    /** Milliseconds on a clock that only moves forward. */
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(rate.perSecond > 0) || !(rate.burst >= 1)) throw new Error(`a rate needs perSecond > 0 and burst ≥ 1 (got ${rate.perSecond}, ${rate.burst})`);
  }

  /**
   * Takes `cost` (default one, at most `burst`) from `key`'s bucket: undefined when it may go on, or the whole seconds
   * until that many are back.
   */
  take(key: string, cost = 1): number | undefined {
    const need = Math.min(Math.max(cost, 1), this.rate.burst);
    const t = this.now();
    const b = this.buckets.get(key);
    const tokens = b ? Math.min(this.rate.burst, b.tokens + ((t - b.at) / 1000) * this.rate.perSecond) : this.rate.burst;
    if (tokens >= need) {
      this.buckets.set(key, { tokens: tokens - need, at: t });
      return undefined;
    }
    this.buckets.set(key, { tokens, at: t });
    return Math.max(1, Math.ceil((need - tokens) / this.rate.perSecond));
  }
}
