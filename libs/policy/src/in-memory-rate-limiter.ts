import { AggregateTotals, RateLimiter, verdict } from './rate-limit';

/** The in-process limiter: the embedded mode's and the tests'; it passes the same suite as the Redis one. */
export class InMemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { start: number; ranks: Map<string, number> }>();
  private readonly sums = new Map<string, { start: number; count: number; sum: number; answers: Map<string, AggregateTotals> }>();

  async add(key: string, hitId: string, amount: number, windowMs: number, now: Date): Promise<AggregateTotals> {
    const start = Math.floor(now.getTime() / windowMs) * windowMs;
    const w = this.sums.get(key);
    const current = w && w.start === start ? w : { start, count: 0, sum: 0, answers: new Map<string, AggregateTotals>() };
    this.sums.set(key, current);
    const seen = current.answers.get(hitId);
    if (seen) return seen;
    current.count += 1;
    current.sum += amount;
    const answer = { count: current.count, sum: current.sum };
    current.answers.set(hitId, answer);
    return answer;
  }

  async hit(key: string, hitId: string, limit: number, windowMs: number, now: Date) {
    const start = Math.floor(now.getTime() / windowMs) * windowMs;
    const w = this.windows.get(key);
    const current = w && w.start === start ? w : { start, ranks: new Map<string, number>() };
    this.windows.set(key, current);
    let rank = current.ranks.get(hitId);
    if (rank === undefined) current.ranks.set(hitId, (rank = current.ranks.size + 1));
    return verdict(rank, limit);
  }
}

/** An in-process limiter: the embedded mode's. */
export const createInMemoryRateLimiter = (): RateLimiter => new InMemoryRateLimiter();
