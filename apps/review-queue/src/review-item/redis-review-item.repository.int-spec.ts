import { redisForTests } from '@countersign/testing';
import { reviewItemSuite } from './review-item.suite';
import { RedisReviewItemRepository } from './redis-review-item.repository';

// real: Redis; fake: nothing. Each test gets its own key prefix.
const redis = redisForTests();
afterAll(() => redis.closeAll());
reviewItemSuite('redis', async () => new RedisReviewItemRepository(redis.client()));
