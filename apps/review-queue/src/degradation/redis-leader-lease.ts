import type { Redis } from 'ioredis';
import { redisScript, RedisScript } from '@countersign/storage';
import { LeaderLease } from './leader-lease';

// Renew if ours, else take it only if free (SET NX PX): one round trip, atomic.
const ACQUIRE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** The controller's lease in Redis: a key with a holder and a TTL. A flush only means a new election. */
export class RedisLeaderLease implements LeaderLease {
  // Sent by their SHA-1, as every script of the project (`redisScript`).
  private readonly acquireScript: RedisScript;
  private readonly releaseScript: RedisScript;

  constructor(
    private readonly redis: Redis,
    private readonly key = 'degradation:leader',
  ) {
    this.acquireScript = redisScript(redis, ACQUIRE);
    this.releaseScript = redisScript(redis, RELEASE);
  }

  async acquire(holder: string, ttlMs: number): Promise<boolean> {
    return Number(await this.acquireScript(1, this.key, holder, String(ttlMs))) === 1;
  }

  async release(holder: string): Promise<void> {
    await this.releaseScript(1, this.key, holder);
  }

  async holder(): Promise<string | undefined> {
    return (await this.redis.get(this.key)) ?? undefined;
  }
}

/** The degradation controller's lease in Redis, for a distributed review queue; `main.ts` picks it. */
export const createLeaderLease = (redis: Redis): LeaderLease => new RedisLeaderLease(redis);

/** The trust monitor's lease in Redis (ADR 0019): the same lease, its own key. */
export const createTrustLease = (redis: Redis): LeaderLease => new RedisLeaderLease(redis, 'trust:leader');
