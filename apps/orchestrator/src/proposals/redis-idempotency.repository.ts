import type { Redis } from 'ioredis';
import { IdempotencyRecord, IdempotencyRepository } from './idempotency.repository';

const TTL_SECONDS = 24 * 3600;
const redisKey = (principal: string, key: string) => `idempotency:${principal}:${key}`;

export class RedisIdempotencyRepository implements IdempotencyRepository {
  constructor(private readonly redis: Redis) {}

  async claim(principal: string, key: string, record: IdempotencyRecord) {
    const k = redisKey(principal, key);
    const stored = await this.redis.set(k, JSON.stringify(record), 'EX', TTL_SECONDS, 'NX');
    if (stored === 'OK') return undefined;
    const existing = await this.redis.get(k);
    return existing ? (JSON.parse(existing) as IdempotencyRecord) : undefined;
  }

  async release(principal: string, key: string) {
    await this.redis.del(redisKey(principal, key));
  }
}

/** Client idempotency keys in Redis (24 hours), shared by every orchestrator instance. */
export const createIdempotencyRepository = (redis: Redis): IdempotencyRepository => new RedisIdempotencyRepository(redis);
