import { createRedis } from '@countersign/storage';
import { uniqueName } from '@countersign/testing';
import { reviewItemContract } from './review-item.contract';
import { RedisReviewItemRepository } from './review-item.repository';

// real: Redis; fake: nothing. Each test gets its own key prefix.
const clients: ReturnType<typeof createRedis>[] = [];
afterAll(() => clients.forEach((c) => c.disconnect()));
reviewItemContract('redis', async () => {
  const redis = createRedis(process.env.REDIS_URL!, `${uniqueName('t')}:`);
  clients.push(redis);
  return new RedisReviewItemRepository(redis);
});
