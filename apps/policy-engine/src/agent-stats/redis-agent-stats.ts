import type { Redis } from 'ioredis';
import { DependencyUnavailableError, isDependencyFailure } from '@countersign/bus';
import { redisScript, RedisScript } from '@countersign/storage';
import { AgentStats, BucketRange, StatsSample, StatsWindows, statsPlan, sumBuckets } from '@countersign/policy';
import type { AgentWindowStats } from '@countersign/policy';

// One hash per series and bucket width (the buckets of one window), a field per bucket: its index, and the value
// "count confidenceSum autonomous first expires" (proposals, their summed confidence, how many were autonomous, the
// event time of the earliest: the baseline's seconds start there; and the wall-clock time after which nothing reads
// it, pushed on by every proposal added, as the twin's `expiresAt`). A set per coarse bucket keeps the action ids added
// in it (a redelivery has the same event time, so the same bucket: it is not added again). Atomic; every key expires.
//
// A window is summed here, bucket by bucket in order, as `sumBuckets` sums it (so each double is exactly the in-process
// twin's: '%.17g' writes one back exactly, '%d' an integral one without an exponent), and answered as one line. The sum
// of all its buckets but the last is kept in the hash (field `sum`: "from to count confidenceSum autonomous first
// validUntil", the last being when the earliest of those buckets expires), so a decision reads two fields per window;
// the buckets are read and summed again only when the window has moved on (about once per bucket width) or a bucket
// in the sum has expired; expired buckets are deleted then. A proposal never lands in the kept part of its own window
// (its bucket is its short window's last, and after its baseline), so when it lands in a kept sum's buckets (its event
// time lags), that sum is another window's, and its own reading, in the same script, replaces it. The
// layout before (one key per bucket, an HMGET each: about 120 calls per anomaly rule and decision) cost Redis about a
// third of a millisecond per rule and decision (issue 14).
//
// Every key of a series carries it as a hash tag (`{series}`): the script declares the three keys it touches, all in
// one slot, so it suits Redis Cluster as well as one Redis.
//
// KEYS: 1 the ids of the proposal's coarse bucket, 2 the coarse buckets (the baseline), 3 the fine ones (the short window).
// ARGV: 1 action id, 2 confidence, 3 autonomous (0 or 1), 4 event time (epoch ms), 5 the wall clock (epoch ms), 6 the
// coarse bucket's index, 7 its time to live (ms), 8 the fine bucket's index, 9 its time to live, 10-11 the short window's
// first and last bucket, 12-13 the baseline's.
const OBSERVE = `
local t, wall = tonumber(ARGV[4]), tonumber(ARGV[5])
local function parse(v)
  local n, c, a, f, e = string.match(v, '^(%S+) (%S+) (%S+) (%S+) (%S+)$')
  return tonumber(n), tonumber(c), tonumber(a), tonumber(f), tonumber(e)
end
local function add(key, index, ttl)
  local n, c, a, f, e = 1, tonumber(ARGV[2]), tonumber(ARGV[3]), t, wall + tonumber(ttl)
  local v = redis.call('HGET', key, index)
  if v then
    local bn, bc, ba, bf, be = parse(v)
    if be > wall then
      n, c, a = bn + 1, bc + c, ba + a
      if bf < f then f = bf end
      if be > e then e = be end
    end
  end
  redis.call('HSET', key, index, string.format('%d %.17g %d %d %d', n, c, a, f, e))
  redis.call('PEXPIRE', key, ttl)
end
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  add(KEYS[2], ARGV[6], ARGV[7])
  add(KEYS[3], ARGV[8], ARGV[9])
end
redis.call('PEXPIRE', KEYS[1], ARGV[7])
local function window(key, from, to)
  from, to = tonumber(from), tonumber(to)
  local n, c, a, first, valid = 0, 0, 0, nil, nil
  local function plus(v)
    local bn, bc, ba, bf, be = parse(v)
    if be > wall and bn ~= 0 then
      n, c, a = n + bn, c + bc, a + ba
      if first == nil or bf < first then first = bf end
      return be
    end
  end
  local kept = redis.call('HGET', key, 'sum')
  local sf, st, sn, sc, sa, sfirst, svalid
  if kept then sf, st, sn, sc, sa, sfirst, svalid = string.match(kept, '^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+)$') end
  if kept and tonumber(sf) == from and tonumber(st) == to - 1 and (svalid == '-' or tonumber(svalid) > wall) then
    n, c, a, first = tonumber(sn), tonumber(sc), tonumber(sa), tonumber(sfirst)
  else
    local all = redis.call('HGETALL', key)
    local rows, expired = {}, {}
    for i = 1, #all, 2 do
      local index = tonumber(all[i])
      if index then
        local _, _, _, _, be = parse(all[i + 1])
        if be > wall then rows[index] = all[i + 1] else expired[#expired + 1] = all[i] end
      end
    end
    if #expired > 0 then redis.call('HDEL', key, unpack(expired)) end
    for i = from, to - 1 do
      local be = rows[i] and plus(rows[i])
      if be and (valid == nil or be < valid) then valid = be end
    end
    local opt = function(x) return x and string.format('%d', x) or '-' end
    redis.call('HSET', key, 'sum', string.format('%d %d %d %.17g %d ', from, to - 1, n, c, a) .. opt(first) .. ' ' .. opt(valid))
  end
  local last = redis.call('HGET', key, string.format('%d', to))
  if last then plus(last) end
  return string.format('%d', n) .. ' ' .. string.format('%.17g', c) .. ' ' .. string.format('%d', a) .. ' ' .. (first and string.format('%d', first) or '')
end
return { window(KEYS[3], ARGV[10], ARGV[11]), window(KEYS[2], ARGV[12], ARGV[13]) }`;

/** The hash of a series' buckets of one width (a rule whose windows change starts afresh), tagged for Redis Cluster. */
export const bucketsKey = (series: string, widthMs: number) => `{${series}}:${widthMs}`;

/** Agent statistics shared by every policy-engine instance: bucketed counters in Redis, expiring with their windows. */
export class RedisAgentStats implements AgentStats {
  private readonly observeScript: RedisScript;

  /** `clock`: the wall clock buckets expire by (a test moves it on, as the twin's). */
  constructor(
    redis: Redis,
    private readonly clock: () => number = Date.now,
  ) {
    // Sent by its SHA-1: EVAL sent the script's text with every decision, and Redis hashed it each time (issue 14).
    this.observeScript = redisScript(redis, OBSERVE);
  }

  async observe(series: string, actionId: string, sample: StatsSample, windows: StatsWindows, now: Date): Promise<AgentWindowStats> {
    const plan = statsPlan(windows, now);
    const range = (r: BucketRange) => [String(r.from), String(r.to)];
    let answer: string[];
    try {
      answer = (await this.observeScript(
        3,
        `${bucketsKey(series, plan.coarse.widthMs)}:ids:${plan.coarse.current}`,
        bucketsKey(series, plan.coarse.widthMs),
        bucketsKey(series, plan.fine.widthMs),
        actionId,
        String(sample.confidence),
        sample.autonomous ? '1' : '0',
        String(now.getTime()),
        String(this.clock()),
        String(plan.coarse.current),
        String(plan.coarse.ttlMs),
        String(plan.fine.current),
        String(plan.fine.ttlMs),
        ...range(plan.short),
        ...range(plan.baseline),
      )) as string[];
    } catch (e) {
      // No statistics is not "nothing unusual": the proposal waits (redelivered) until Redis answers again.
      if (isDependencyFailure(e)) throw new DependencyUnavailableError(`agent statistics unavailable (Redis): ${(e as Error).message}`, { cause: e });
      throw e;
    }
    // Each window as the one bucket its buckets add up to: `sumBuckets` then gives exactly what the in-process twin gives.
    const [short, baseline] = answer.map((row) => {
      const [count, confidenceSum, autonomous, first] = row.split(' ');
      return { count: Number(count), confidenceSum: Number(confidenceSum), autonomous: Number(autonomous), ...(first ? { first: Number(first) } : {}) };
    });
    return { short: sumBuckets([short], plan.short), baseline: sumBuckets([baseline], plan.baseline, true) };
  }
}

/** Agent statistics in Redis, shared by every policy-engine instance (`main.ts` picks it). */
export const createAgentStats = (redis: Redis): AgentStats => new RedisAgentStats(redis);
