import type { LoadedContract } from './contract';
import type { ProposalInput } from './evaluate';

/**
 * Counts hits in fixed windows. A hit carries an id (the action id): the same id hit again, as a
 * redelivered proposal does, is not counted twice and gets the answer it got the first time, so a
 * redelivery cannot turn an autonomous decision into a review one. The in-process limiter below serves
 * the embedded mode and tests; a Redis one serves several instances.
 */
export interface RateLimiter {
  hit(key: string, hitId: string, limit: number, windowMs: number, now: Date): Promise<{ allowed: boolean; remaining: number }>;
}

/** What a hit answers when it was the `rank`-th distinct hit of its window. */
export function verdict(rank: number, limit: number): { allowed: boolean; remaining: number } {
  return { allowed: rank <= limit, remaining: Math.max(0, limit - rank) };
}

export class InMemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { start: number; ranks: Map<string, number> }>();

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

/** The ids of the contract's rate limits this proposal exceeds (each action counts once), for `evaluate`'s inputs. */
export async function checkRateLimits(contract: LoadedContract, p: ProposalInput, actor: string, actionId: string, limiter: RateLimiter, now: Date): Promise<string[]> {
  const exceeded: string[] = [];
  for (const limit of contract.rateLimits ?? []) {
    if (!limit.actionTypes.includes(p.actionType)) continue;
    const who = limit.per === 'tenant' ? `tenant:${p.tenant}` : `actor:${actor}`;
    const { allowed } = await limiter.hit(`ratelimit:${limit.id}:${who}`, actionId, limit.limit, limit.windowSeconds * 1000, now);
    if (!allowed) exceeded.push(limit.id);
  }
  return exceeded;
}
