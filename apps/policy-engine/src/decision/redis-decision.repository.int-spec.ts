import { redisForTests } from '@countersign/testing';
import { decisionSuite } from './decision.suite';
import { RedisDecisionRepository } from './redis-decision.repository';

// real: Redis; fake: nothing. Each test gets its own key prefix.
const redis = redisForTests();
afterAll(() => redis.closeAll());
decisionSuite('redis', async () => new RedisDecisionRepository(redis.client()));
