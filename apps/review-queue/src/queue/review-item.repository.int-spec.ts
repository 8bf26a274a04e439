import { redisForTests } from '@countersign/testing';
import { reviewItemContract } from './review-item.contract';
import { RedisReviewItemRepository } from './review-item.repository';

// real: Redis; fake: nothing. Each test gets its own key prefix.
const redis = redisForTests();
afterAll(() => redis.closeAll());
reviewItemContract('redis', async () => new RedisReviewItemRepository(redis.client()));
