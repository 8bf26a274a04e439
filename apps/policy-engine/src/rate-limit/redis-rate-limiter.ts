import type { Redis } from 'ioredis';
import { AggregateTotals, RateLimiter, verdict } from '@countersign/policy';

// One hash per window: field '#' counts distinct hits, every other field is a hit id and its rank.
// A hit id seen before keeps its rank (a redelivery is not counted again). Atomic, expiring with the window.
const HIT = `
local rank = redis.call('HGET', KEYS[1], ARGV[2])
if rank then return tonumber(rank) end
rank = redis.call('HINCRBY', KEYS[1], '#', 1)
redis.call('HSET', KEYS[1], ARGV[2], rank)
if rank == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return rank`;

// Aggregates: one hash per window, '#count' and '#sum' the totals, 'id:<hit id>' the answer given to that
// hit ('<count> <sum>'), so a redelivered action is neither added again nor answered differently.
const ADD = `
local seen = redis.call('HGET', KEYS[1], 'id:' .. ARGV[2])
if seen then return seen end
local count = redis.call('HINCRBY', KEYS[1], '#count', 1)
local sum = redis.call('HINCRBYFLOAT', KEYS[1], '#sum', ARGV[3])
local answer = count .. ' ' .. sum
redis.call('HSET', KEYS[1], 'id:' .. ARGV[2], answer)
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return answer`;

/** Fixed-window rate and aggregate limits shared by every policy-engine instance. */
export class RedisRateLimiter implements RateLimiter {
  constructor(private readonly redis: Redis) {}

  async hit(key: string, hitId: string, limit: number, windowMs: number, now: Date) {
    const window = Math.floor(now.getTime() / windowMs);
    const rank = Number(await this.redis.eval(HIT, 1, `${key}:${window}`, String(windowMs), hitId));
    return verdict(rank, limit);
  }

  async add(key: string, hitId: string, amount: number, windowMs: number, now: Date): Promise<AggregateTotals> {
    const window = Math.floor(now.getTime() / windowMs);
    const answer = String(await this.redis.eval(ADD, 1, `${key}:${window}`, String(windowMs), hitId, String(amount)));
    const [count, sum] = answer.split(' ').map(Number);
    return { count, sum };
  }
}

/** Rate and aggregate limits in Redis, shared by every policy-engine instance. */
export const createRateLimiter = (redis: Redis): RateLimiter => new RedisRateLimiter(redis);
