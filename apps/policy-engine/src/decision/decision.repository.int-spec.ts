import { redisForTests } from '@countersign/testing';
import { decisionContract } from './decision.contract';
import { RedisDecisionRepository } from './decision.repository';

// real: Redis; fake: nothing. Each test gets its own key prefix.
const redis = redisForTests();
afterAll(() => redis.closeAll());
decisionContract('redis', async () => new RedisDecisionRepository(redis.client()));
