import { AggregateTotals, RateLimiter, verdict } from './rate-limit';

/** Calls between two sweeps of the logs that went quiet (a key seen once must not stay forever). */
const SWEEP_EVERY = 1000;

interface Entry {
  id: string;
  at: number;
  amount: number;
  /** The answer it got when it was counted: a redelivery gets it again. */
  answer: AggregateTotals;
}

/** One key's distinct hits in its window, oldest first, with their running total. */
class SlidingLog {
  private readonly byId = new Map<string, Entry>();
  private readonly byTime: Entry[] = [];
  private sum = 0;

  constructor(private readonly windowMs: number) {}

  /** The first answer of a hit still in the window, or the window's totals with this hit counted. */
  record(id: string, amount: number, now: number): AggregateTotals {
    this.prune(now);
    const seen = this.byId.get(id);
    if (seen) return { ...seen.answer };
    const entry = { id, at: now, amount, answer: { count: this.byTime.length + 1, sum: this.sum + amount } };
    this.sum = entry.answer.sum;
    this.byId.set(id, entry);
    // Usually the newest; a caller whose clock is behind inserts a little earlier, keeping the log in time order.
    let i = this.byTime.length;
    while (i > 0 && this.byTime[i - 1].at > now) i--;
    this.byTime.splice(i, 0, entry);
    return { ...entry.answer };
  }

  /** Whether every entry has left the window: the log can go. */
  isQuiet(now: number): boolean {
    const newest = this.byTime[this.byTime.length - 1];
    return !newest || newest.at <= now - this.windowMs;
  }

  /** Entries at or before `now - windowMs` leave; later ones (even later than `now`) stay. */
  private prune(now: number): void {
    let old = 0;
    while (old < this.byTime.length && this.byTime[old].at <= now - this.windowMs) {
      this.byId.delete(this.byTime[old].id);
      this.sum -= this.byTime[old].amount;
      old++;
    }
    this.byTime.splice(0, old);
    // An empty window starts from an exact zero, not from the rounding its subtractions left.
    if (this.byTime.length === 0) this.sum = 0;
  }
}

/** The in-process limiter: the tests'; it passes the same suite as the Redis and PostgreSQL ones. */
export class InMemoryRateLimiter implements RateLimiter {
  private readonly hits = new Map<string, SlidingLog>();
  private readonly adds = new Map<string, SlidingLog>();
  private calls = 0;

  async add(key: string, hitId: string, amount: number, windowMs: number, now: Date): Promise<AggregateTotals> {
    return this.record(this.adds, key, hitId, amount, windowMs, now.getTime());
  }

  async hit(key: string, hitId: string, limit: number, windowMs: number, now: Date) {
    return verdict(this.record(this.hits, key, hitId, 0, windowMs, now.getTime()).count, limit);
  }

  private record(logs: Map<string, SlidingLog>, key: string, hitId: string, amount: number, windowMs: number, now: number): AggregateTotals {
    if (++this.calls % SWEEP_EVERY === 0) this.sweep(now);
    // The window length is part of the key: two limits on one key with different windows keep two logs.
    const logKey = `${key}:${windowMs}`;
    let log = logs.get(logKey);
    if (!log) logs.set(logKey, (log = new SlidingLog(windowMs)));
    return log.record(hitId, amount, now);
  }

  private sweep(now: number): void {
    for (const logs of [this.hits, this.adds]) for (const [key, log] of logs) if (log.isQuiet(now)) logs.delete(key);
  }
}

/** An in-process limiter (tests; the mains pick Redis or PostgreSQL). */
export const createInMemoryRateLimiter = (): RateLimiter => new InMemoryRateLimiter();
