import { redisForTests } from '@countersign/testing';
import { idempotencySuite } from './idempotency.suite';
import { RedisIdempotencyRepository } from './redis-idempotency.repository';

// real: Redis; fake: nothing. Each test gets its own key prefix.
const redis = redisForTests();
afterAll(() => redis.closeAll());
idempotencySuite('redis', async () => new RedisIdempotencyRepository(redis.client()));
