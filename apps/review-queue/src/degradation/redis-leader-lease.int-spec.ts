import { redisForTests } from '@countersign/testing';
import { leaderLeaseSuite } from './leader-lease.suite';
import { RedisLeaderLease } from './redis-leader-lease';

// real: Redis (infra/stack.sh), a key prefix of its own per test, real TTLs; fake: nothing.
const redis = redisForTests();
afterAll(() => redis.closeAll());

leaderLeaseSuite('redis', async () => new RedisLeaderLease(redis.client()));
