import type { Redis } from 'ioredis';
import { DependencyUnavailableError, isDependencyFailure } from '@countersign/bus';
import { AgentStats, BucketRange, bucketKey, StatsSample, StatsWindows, statsPlan, sumBuckets } from '@countersign/policy';
import type { AgentWindowStats } from '@countersign/policy';

// One hash per bucket: 'n' proposals, 'c' their summed confidence, 'a' how many were autonomous, 'f' the event
// time of the earliest (the baseline's seconds start there). KEYS[1] is the
// proposal's coarse bucket, which also keeps 'id:<action id>' (a redelivery has the same event time, so the same
// bucket: it is not added again); KEYS[2] its fine bucket; then the buckets read. Atomic; every bucket expires.
const OBSERVE = `
if redis.call('HSETNX', KEYS[1], 'id:' .. ARGV[1], 1) == 1 then
  for i = 1, 2 do
    redis.call('HINCRBY', KEYS[i], 'n', 1)
    redis.call('HINCRBYFLOAT', KEYS[i], 'c', ARGV[2])
    redis.call('HINCRBY', KEYS[i], 'a', ARGV[3])
    local f = redis.call('HGET', KEYS[i], 'f')
    if not f or tonumber(ARGV[6]) < tonumber(f) then redis.call('HSET', KEYS[i], 'f', ARGV[6]) end
  end
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local out = {}
for i = 3, #KEYS do
  local v = redis.call('HMGET', KEYS[i], 'n', 'c', 'a', 'f')
  out[#out + 1] = (v[1] or '0') .. ' ' .. (v[2] or '0') .. ' ' .. (v[3] or '0') .. ' ' .. (v[4] or '')
end
return out`;

const keysOf = (series: string, r: BucketRange) => Array.from({ length: Math.max(0, r.to - r.from + 1) }, (_, i) => bucketKey(series, r.widthMs, r.from + i));

/** The script as a command of the connection: sent by its SHA-1 (EVALSHA), the text only when Redis lacks it. */
const COMMAND = 'countersignObserveAgentStats';
type WithObserve = Redis & { [COMMAND]: (numKeys: number, ...args: string[]) => Promise<unknown> };

/** Agent statistics shared by every policy-engine instance: bucketed counters in Redis, expiring with their windows. */
export class RedisAgentStats implements AgentStats {
  private readonly redis: WithObserve;

  constructor(redis: Redis) {
    // EVAL sent the script's 600 bytes with every decision, and Redis hashed them each time to find it (issue 14).
    if (typeof (redis as unknown as Record<string, unknown>)[COMMAND] !== 'function') redis.defineCommand(COMMAND, { lua: OBSERVE });
    this.redis = redis as unknown as WithObserve;
  }

  async observe(series: string, actionId: string, sample: StatsSample, windows: StatsWindows, now: Date): Promise<AgentWindowStats> {
    const plan = statsPlan(windows, now);
    const short = keysOf(series, plan.short);
    const baseline = keysOf(series, plan.baseline);
    let answer: string[];
    try {
      answer = (await this.redis[COMMAND](
        2 + short.length + baseline.length,
        bucketKey(series, plan.coarse.widthMs, plan.coarse.current),
        bucketKey(series, plan.fine.widthMs, plan.fine.current),
        ...short,
        ...baseline,
        actionId,
        String(sample.confidence),
        sample.autonomous ? '1' : '0',
        String(plan.coarse.ttlMs),
        String(plan.fine.ttlMs),
        String(now.getTime()),
      )) as string[];
    } catch (e) {
      // No statistics is not "nothing unusual": the proposal waits (redelivered) until Redis answers again.
      if (isDependencyFailure(e)) throw new DependencyUnavailableError(`agent statistics unavailable (Redis): ${(e as Error).message}`, { cause: e });
      throw e;
    }
    const buckets = answer.map((row) => {
      const [count, confidenceSum, autonomous, first] = row.split(' ');
      return { count: Number(count), confidenceSum: Number(confidenceSum), autonomous: Number(autonomous), ...(first ? { first: Number(first) } : {}) };
    });
    return {
      short: sumBuckets(buckets.slice(0, short.length), plan.short),
      baseline: sumBuckets(buckets.slice(short.length), plan.baseline, true),
    };
  }
}

/** Agent statistics in Redis, shared by every policy-engine instance (`main.ts` picks it). */
export const createAgentStats = (redis: Redis): AgentStats => new RedisAgentStats(redis);
