import type { Redis } from 'ioredis';
import { RateLimiter, verdict } from '@countersign/policy';

// One hash per window: field '#' counts distinct hits, every other field is a hit id and its rank.
// A hit id seen before keeps its rank (a redelivery is not counted again). Atomic, expiring with the window.
const HIT = `
local rank = redis.call('HGET', KEYS[1], ARGV[2])
if rank then return tonumber(rank) end
rank = redis.call('HINCRBY', KEYS[1], '#', 1)
redis.call('HSET', KEYS[1], ARGV[2], rank)
if rank == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return rank`;

/** Fixed-window rate limits shared by every policy-engine instance. */
export class RedisRateLimiter implements RateLimiter {
  constructor(private readonly redis: Redis) {}

  async hit(key: string, hitId: string, limit: number, windowMs: number, now: Date) {
    const window = Math.floor(now.getTime() / windowMs);
    const rank = Number(await this.redis.eval(HIT, 1, `${key}:${window}`, String(windowMs), hitId));
    return verdict(rank, limit);
  }
}
