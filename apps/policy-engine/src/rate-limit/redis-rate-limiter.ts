import type { Redis } from 'ioredis';
import type { RateLimiter } from '@countersign/policy';

// INCR the window's counter and set its expiry on first use, atomically.
const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

/** Fixed-window rate limits shared by every policy-engine instance. */
export class RedisRateLimiter implements RateLimiter {
  constructor(private readonly redis: Redis) {}

  async hit(key: string, limit: number, windowMs: number, now: Date) {
    const window = Math.floor(now.getTime() / windowMs);
    const count = Number(await this.redis.eval(HIT, 1, `${key}:${window}`, String(windowMs)));
    return { allowed: count <= limit, remaining: Math.max(0, limit - count) };
  }
}
