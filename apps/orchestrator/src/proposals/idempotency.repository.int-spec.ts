import { createRedis } from '@countersign/storage';
import { uniqueName } from '@countersign/testing';
import { idempotencyContract } from './idempotency.contract';
import { RedisIdempotencyRepository } from './idempotency.repository';

// real: Redis; fake: nothing. Each test gets its own key prefix.
const clients: ReturnType<typeof createRedis>[] = [];
afterAll(() => clients.forEach((c) => c.disconnect()));
idempotencyContract('redis', async () => {
  const redis = createRedis(process.env.REDIS_URL!, `${uniqueName('t')}:`);
  clients.push(redis);
  return new RedisIdempotencyRepository(redis);
});
