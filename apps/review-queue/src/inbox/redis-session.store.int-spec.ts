import { redisForTests } from '@countersign/testing';
import { RedisSessionStore } from './redis-session.store';
import { sessionStoreSuite } from './session-store.suite';

// real: Redis (infra/stack.sh), a key prefix of its own per test, real expiries; fake: nothing.
const redis = redisForTests();
afterAll(() => redis.closeAll());

sessionStoreSuite('redis', async () => new RedisSessionStore(redis.client()));
