import { DependencyUnavailableError } from '@countersign/bus';
import { createRedis } from '@countersign/storage';
import { freePort, redisForTests } from '@countersign/testing';
import { agentStatsSuite } from './agent-stats.suite';
import { RedisAgentStats } from './redis-agent-stats';

// real: Redis (the stack's; each test gets its own key prefix), and a port nothing listens on; fake: nothing.
jest.setTimeout(60_000);
const redis = redisForTests();
afterAll(() => redis.closeAll());
agentStatsSuite('redis', async () => new RedisAgentStats(redis.client()));

describe('RedisAgentStats without Redis', () => {
  it('throws a dependency error (retried), never answers "nothing unusual"', async () => {
    const gone = createRedis(`redis://127.0.0.1:${await freePort()}`, 'gone:');
    try {
      await expect(
        new RedisAgentStats(gone).observe(
          'anomaly:r:agent-a',
          'a-1',
          { confidence: 0.99, autonomous: true },
          { shortSeconds: 300, baselineSeconds: 3600 },
          new Date(),
        ),
      ).rejects.toBeInstanceOf(DependencyUnavailableError);
    } finally {
      gone.disconnect();
    }
  });

  it('expires its buckets: every key it writes has a time to live', async () => {
    const client = redis.client();
    await new RedisAgentStats(client).observe(
      'anomaly:r:agent-ttl',
      'a-1',
      { confidence: 0.5, autonomous: true },
      { shortSeconds: 300, baselineSeconds: 3600 },
      new Date(),
    );
    // Patterns are not prefixed by ioredis: a client without a prefix reads the full names.
    const raw = createRedis(process.env.REDIS_URL!, '');
    try {
      const keys = await raw.keys(`${client.options.keyPrefix}anomaly:r:agent-ttl:*`);
      expect(keys).toHaveLength(2);
      for (const key of keys) expect(await raw.pttl(key)).toBeGreaterThan(0);
    } finally {
      raw.disconnect();
    }
  });
});
