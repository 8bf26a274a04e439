import { redisForTests } from '@countersign/testing';
import { actionViewSuite } from './action-view.suite';
import { RedisActionViewRepository } from './redis-action-view.repository';

// real: Redis; fake: nothing. Each test gets its own key prefix.
const redis = redisForTests();
afterAll(() => redis.closeAll());
actionViewSuite('redis', async () => new RedisActionViewRepository(redis.client()));
