import type { Redis } from 'ioredis';
import { AggregateTotals, PRUNE_SKEW_MS, RateLimiter, verdict } from '@countersign/policy';
import { redisScript, RedisScript } from '@countersign/storage';

// One sliding log per key and window length, in two keys of one hash tag: KEYS[1] a sorted set of the distinct hit
// ids scored by their time (epoch ms), KEYS[2] a hash with 'id:<hit id>' = '<count> <sum> <amount>' (the answer
// that hit got, and what it added) and '#sum' the running sum of the amounts in the log. ARGV: now, windowMs, hit
// id, amount. Entries at or before min(now, the newest entry + PRUNE_SKEW_MS) - windowMs leave first (their amounts
// subtracted), so a clock that jumped ahead deletes no window it may come back to (clock probe, 2026-12-05). The
// window is (now - windowMs, ...): entries later than now count (another instance's clock is a little ahead),
// older ones the prune left do not (their amounts are taken off the answer). A hit id still in the window gets its
// first answer and is not counted again. O(log n) per call plus the entries it prunes or leaves out; atomic per
// key; both keys expire windowMs after the newest entry, so a quiet key leaves Redis whole.
const RECORD = `
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local newest = tonumber(redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')[2] or now)
local cutoff = math.min(now, newest + ${PRUNE_SKEW_MS}) - window
local function amountOf(id) return string.match(redis.call('HGET', KEYS[2], 'id:' .. id) or '0 0 0', '(%S+)$') end
local function forget(id)
  local amount = amountOf(id)
  local negated = string.sub(amount, 1, 1) == '-' and string.sub(amount, 2) or '-' .. amount
  redis.call('HINCRBYFLOAT', KEYS[2], '#sum', negated)
  redis.call('HDEL', KEYS[2], 'id:' .. id)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff)) do forget(id) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', cutoff)
local floor = now - window
local seen = redis.call('HGET', KEYS[2], 'id:' .. ARGV[3])
local at = seen and tonumber(redis.call('ZSCORE', KEYS[1], ARGV[3]))
if at and at > floor then return string.match(seen, '^(%S+ %S+)') end
-- A hit id that left its window is a new hit: its old entry, if the prune left it, goes.
if seen then
  forget(ARGV[3])
  redis.call('ZREM', KEYS[1], ARGV[3])
end
-- An empty log starts again from an exact zero, not from the rounding its subtractions left.
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) end
local stale = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', floor)) do stale = stale + tonumber(amountOf(id)) end
redis.call('ZADD', KEYS[1], now, ARGV[3])
local count = redis.call('ZCOUNT', KEYS[1], '(' .. floor, '+inf')
local sum = redis.call('HINCRBYFLOAT', KEYS[2], '#sum', ARGV[4])
if stale ~= 0 then sum = string.format('%.17g', tonumber(sum) - stale) end
local answer = count .. ' ' .. sum
redis.call('HSET', KEYS[2], 'id:' .. ARGV[3], answer .. ' ' .. ARGV[4])
local ttl = math.ceil(window + math.max(newest, now) - now)
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
