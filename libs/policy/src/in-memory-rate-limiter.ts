import { AggregateTotals, PRUNE_SKEW_MS, RateLimiter, SweepClock, verdict } from './rate-limit';

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
    this.prune(Math.min(now, this.newest + PRUNE_SKEW_MS));
    const seen = this.byId.get(id);
    if (seen && seen.at > now - this.windowMs) return { ...seen.answer };
    // A hit id that left its window is a new hit: its old entry, if the prune left it, goes.
    if (seen) this.remove(seen);
    // Entries the prune left at or before now - windowMs (the log was quiet longer than the skew) are not counted.
    let stale = 0;
    let staleSum = 0;
    for (; stale < this.byTime.length && this.byTime[stale].at <= now - this.windowMs; stale++) staleSum += this.byTime[stale].amount;
    const entry = { id, at: now, amount, answer: { count: this.byTime.length - stale + 1, sum: this.sum - staleSum + amount } };
    this.sum += amount;
    this.byId.set(id, entry);
    // Usually the newest; a caller whose clock is behind inserts a little earlier, keeping the log in time order.
    let i = this.byTime.length;
    while (i > 0 && this.byTime[i - 1].at > now) i--;
    this.byTime.splice(i, 0, entry);
    return { ...entry.answer };
  }

  /** The time of the newest entry (-Infinity when empty). */
  get newest(): number {
    return this.byTime.length === 0 ? -Infinity : this.byTime[this.byTime.length - 1].at;
  }

  /** Whether every entry has left the window: the log can go. */
  isQuiet(now: number): boolean {
    return this.newest <= now - this.windowMs;
  }

  private remove(entry: Entry): void {
    this.byId.delete(entry.id);
    this.byTime.splice(this.byTime.indexOf(entry), 1);
    this.sum = this.byTime.length === 0 ? 0 : this.sum - entry.amount;
  }

  /**
   * Entries at or before `until - windowMs` leave; later ones (even later than `now`) stay. The caller holds `until`
   * to PRUNE_SKEW_MS past the newest entry: a clock that jumped ahead deletes no window it may come back to (clock
   * probe, 2026-12-05).
   */
  private prune(until: number): void {
    let old = 0;
    while (old < this.byTime.length && this.byTime[old].at <= until - this.windowMs) {
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
  /** How far the sweep believes `now` (a clock that jumped ahead erases no window). */
  private readonly sweepClock = new SweepClock();

  async add(key: string, hitId: string, amount: number, windowMs: number, now: Date): Promise<AggregateTotals> {
    return this.record(this.adds, key, hitId, amount, windowMs, now.getTime());
  }

  async hit(key: string, hitId: string, limit: number, windowMs: number, now: Date) {
    return verdict(this.record(this.hits, key, hitId, 0, windowMs, now.getTime()).count, limit);
  }

  private record(logs: Map<string, SlidingLog>, key: string, hitId: string, amount: number, windowMs: number, now: number): AggregateTotals {
    this.sweepClock.see(now);
    if (++this.calls % SWEEP_EVERY === 0) this.sweep(now);
    // The window length is part of the key: two limits on one key with different windows keep two logs.
    const logKey = `${key}:${windowMs}`;
    let log = logs.get(logKey);
    if (!log) logs.set(logKey, (log = new SlidingLog(windowMs)));
    return log.record(hitId, amount, now);
  }

  /** Quiet logs go; a sweep on a clock that jumped ahead leaves the others' windows (clock probe, 2026-12-05). */
  private sweep(now: number): void {
    const until = this.sweepClock.bound(now);
    for (const logs of [this.hits, this.adds]) for (const [key, log] of logs) if (log.isQuiet(until)) logs.delete(key);
  }
}

/** An in-process limiter (tests; the mains pick Redis or PostgreSQL). */
export const createInMemoryRateLimiter = (): RateLimiter => new InMemoryRateLimiter();
