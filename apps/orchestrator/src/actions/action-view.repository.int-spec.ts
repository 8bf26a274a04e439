import { createRedis } from '@countersign/storage';
import { uniqueName } from '@countersign/testing';
import { actionViewContract } from './action-view.contract';
import { RedisActionViewRepository } from './action-view.repository';

// real: Redis; fake: nothing. Each test gets its own key prefix.
const clients: ReturnType<typeof createRedis>[] = [];
afterAll(() => clients.forEach((c) => c.disconnect()));
actionViewContract('redis', async () => {
  const redis = createRedis(process.env.REDIS_URL!, `${uniqueName('t')}:`);
  clients.push(redis);
  return new RedisActionViewRepository(redis);
});
