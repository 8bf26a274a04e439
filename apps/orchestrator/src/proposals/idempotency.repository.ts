import type { Redis } from 'ioredis';

/** What a client's Idempotency-Key was first used for. */
export interface IdempotencyRecord {
  actionId: string;
  requestDigest: string;
}

/**
 * Client idempotency keys, scoped by principal: a retried POST returns the action of the first one.
 * `claim` is atomic: of two concurrent requests with one key, exactly one creates the action.
 */
export interface IdempotencyRepository {
  /** Stores the record if the key is new; otherwise returns the record stored first. */
  claim(principal: string, key: string, record: IdempotencyRecord): Promise<IdempotencyRecord | undefined>;
  release(principal: string, key: string): Promise<void>;
}

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
