import { redisForTests } from '@countersign/testing';
import { changeRequestStoreContract } from './change-request.store.contract';
import { RedisChangeRequestStore } from './redis-change-request.store';

// real: Redis; fake: nothing. Each test gets its own key prefix.
const redis = redisForTests();
afterAll(() => redis.closeAll());
changeRequestStoreContract('redis', async (baseClaimMs) => new RedisChangeRequestStore(redis.client(), baseClaimMs));
