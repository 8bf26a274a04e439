import { redisForTests } from '@countersign/testing';
import { backlogGaugesSuite } from './backlog-gauges.suite';
import { RedisBacklogGauges } from './redis-backlog-gauges';

// real: Redis (infra/stack.sh), under a key prefix of its own per test; fake: nothing.
const redis = redisForTests();
afterAll(() => redis.closeAll());

backlogGaugesSuite('redis', async () => new RedisBacklogGauges(redis.client()));
