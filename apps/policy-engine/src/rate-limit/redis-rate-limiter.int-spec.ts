import { redisForTests } from '@countersign/testing';
import { rateLimiterSuite } from './rate-limiter.suite';
import { RedisRateLimiter } from './redis-rate-limiter';

// real: Redis; fake: nothing. Each test gets its own key prefix.
const redis = redisForTests();
afterAll(() => redis.closeAll());
rateLimiterSuite('redis', async () => new RedisRateLimiter(redis.client()));
