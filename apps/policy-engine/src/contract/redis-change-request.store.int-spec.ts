import { redisForTests } from '@countersign/testing';
import { changeRequestStoreSuite } from './change-request.store.suite';
import { RedisChangeRequestStore } from './redis-change-request.store';

// real: Redis; fake: nothing. Each test gets its own key prefix.
const redis = redisForTests();
afterAll(() => redis.closeAll());
changeRequestStoreSuite('redis', async (baseClaimMs) => new RedisChangeRequestStore(redis.client(), baseClaimMs));
