import { redisForTests } from '@countersign/testing';
import { idempotencyContract } from './idempotency.contract';
import { RedisIdempotencyRepository } from './idempotency.repository';

// real: Redis; fake: nothing. Each test gets its own key prefix.
const redis = redisForTests();
afterAll(() => redis.closeAll());
idempotencyContract('redis', async () => new RedisIdempotencyRepository(redis.client()));
