import { redisForTests } from '@countersign/testing';
import { actionViewContract } from './action-view.contract';
import { RedisActionViewRepository } from './action-view.repository';

// real: Redis; fake: nothing. Each test gets its own key prefix.
const redis = redisForTests();
afterAll(() => redis.closeAll());
actionViewContract('redis', async () => new RedisActionViewRepository(redis.client()));
