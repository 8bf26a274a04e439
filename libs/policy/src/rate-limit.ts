import type { LoadedContract } from './contract';
import type { ProposalInput } from './evaluate';

/**
 * Counts hits in fixed windows. The in-process limiter below serves the embedded mode and tests; a Redis
 * one (INCR + PEXPIRE on the same keys) serves several instances.
 */
export interface RateLimiter {
  hit(key: string, limit: number, windowMs: number, now: Date): Promise<{ allowed: boolean; remaining: number }>;
}

export class InMemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  async hit(key: string, limit: number, windowMs: number, now: Date) {
    const start = Math.floor(now.getTime() / windowMs) * windowMs;
    const w = this.windows.get(key);
    const current = w && w.start === start ? w : { start, count: 0 };
    current.count++;
    this.windows.set(key, current);
    return { allowed: current.count <= limit, remaining: Math.max(0, limit - current.count) };
  }
}

/** The ids of the contract's rate limits this proposal exceeds (each hit counts), for `evaluate`'s inputs. */
export async function checkRateLimits(contract: LoadedContract, p: ProposalInput, actor: string, limiter: RateLimiter, now: Date): Promise<string[]> {
  const exceeded: string[] = [];
  for (const limit of contract.rateLimits ?? []) {
    if (!limit.actionTypes.includes(p.actionType)) continue;
    const who = limit.per === 'tenant' ? `tenant:${p.tenant}` : `actor:${actor}`;
    const { allowed } = await limiter.hit(`ratelimit:${limit.id}:${who}`, limit.limit, limit.windowSeconds * 1000, now);
    if (!allowed) exceeded.push(limit.id);
  }
  return exceeded;
}
