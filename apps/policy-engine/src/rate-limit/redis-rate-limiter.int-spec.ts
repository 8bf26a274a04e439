import { redisForTests } from '@countersign/testing';
import { rateLimiterContract } from './rate-limiter.contract';
import { RedisRateLimiter } from './redis-rate-limiter';

// real: Redis; fake: nothing. Each test gets its own key prefix.
const redis = redisForTests();
afterAll(() => redis.closeAll());
rateLimiterContract('redis', async () => new RedisRateLimiter(redis.client()));
