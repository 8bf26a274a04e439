import type { Redis } from 'ioredis';
import { AggregateTotals, RateLimiter, verdict } from '@countersign/policy';
import { redisScript, RedisScript } from '@countersign/storage';

// One sliding log per key and window length, in two keys of one hash tag: KEYS[1] a sorted set of the distinct hit
// ids scored by their time (epoch ms), KEYS[2] a hash with 'id:<hit id>' = '<count> <sum> <amount>' (the answer
// that hit got, and what it added) and '#sum' the running sum of the amounts in the log. ARGV: now, windowMs, hit
// id, amount. Entries at or before now - windowMs leave first (their amounts subtracted); entries later than now
// stay (another instance's clock is a little ahead). A hit id still in the log gets its first answer and is not
// counted again. O(log n) per call plus the entries it prunes; atomic per key; both keys expire windowMs after
// the newest entry, so a quiet key leaves Redis whole.
const RECORD = `
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local cutoff = now - window
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff)) do
  local amount = string.match(redis.call('HGET', KEYS[2], 'id:' .. id) or '0 0 0', '(%S+)$')
  local negated = string.sub(amount, 1, 1) == '-' and string.sub(amount, 2) or '-' .. amount
  redis.call('HINCRBYFLOAT', KEYS[2], '#sum', negated)
  redis.call('HDEL', KEYS[2], 'id:' .. id)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
-- An empty log starts again from an exact zero, not from the rounding its subtractions left.
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) end
local seen = redis.call('HGET', KEYS[2], 'id:' .. ARGV[3])
if seen then return string.match(seen, '^(%S+ %S+)') end
redis.call('ZADD', KEYS[1], now, ARGV[3])
local count = redis.call('ZCARD', KEYS[1])
local sum = redis.call('HINCRBYFLOAT', KEYS[2], '#sum', ARGV[4])
local answer = count .. ' ' .. sum
redis.call('HSET', KEYS[2], 'id:' .. ARGV[3], answer .. ' ' .. ARGV[4])
local newest = tonumber(redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2])
local ttl = math.ceil(window + newest - now)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return answer`;

/** Sliding-window rate and aggregate limits shared by every policy-engine instance. */
export class RedisRateLimiter implements RateLimiter {
  private readonly recordScript: RedisScript;

  constructor(redis: Redis) {
    this.recordScript = redisScript(redis, RECORD);
  }

  async hit(key: string, hitId: string, limit: number, windowMs: number, now: Date) {
    const { count } = await this.record('hit', key, hitId, 0, windowMs, now);
    return verdict(count, limit);
  }

  async add(key: string, hitId: string, amount: number, windowMs: number, now: Date): Promise<AggregateTotals> {
    return this.record('add', key, hitId, amount, windowMs, now);
  }

  private async record(kind: 'hit' | 'add', key: string, hitId: string, amount: number, windowMs: number, now: Date): Promise<AggregateTotals> {
    // The braces are a hash tag: both keys on one cluster slot, as one script needs. The window length is part of
    // the key, so two limits on one key with different windows never share a log.
    const log = `{${kind}:${key}:${windowMs}}`;
    const keys = [`${log}:log`, `${log}:answers`];
    const answer = String(await this.recordScript(2, ...keys, String(now.getTime()), String(windowMs), hitId, String(amount)));
    const [count, sum] = answer.split(' ').map(Number);
    return { count, sum };
  }
}

/** Rate and aggregate limits in Redis, shared by every policy-engine instance. */
export const createRateLimiter = (redis: Redis): RateLimiter => new RedisRateLimiter(redis);
