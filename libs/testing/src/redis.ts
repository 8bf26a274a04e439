import { createRedis, Redis } from '@countersign/storage';
import { uniqueName } from './env';

/**
 * Redis clients for a test file, each under its own key prefix; `closeAll()` in `afterAll`.
 */
export function redisForTests() {
  const clients: Redis[] = [];
  return {
    client: () => {
      const redis = createRedis(process.env.REDIS_URL!, `${uniqueName('t')}:`);
      clients.push(redis);
      return redis;
    },
    closeAll: () => clients.forEach((c) => c.disconnect()),
  };
}
