import { DependencyUnavailableError } from '@countersign/bus';
import { createRedis } from '@countersign/storage';
import { freePort, redisForTests } from '@countersign/testing';
import { agentStatsSuite } from './agent-stats.suite';
import calculateSlot from 'cluster-key-slot';
import { bucketsKey, RedisAgentStats } from './redis-agent-stats';

// real: Redis (the stack's; each test gets its own key prefix), and a port nothing listens on; fake: nothing.
jest.setTimeout(60_000);
const redis = redisForTests();
afterAll(() => redis.closeAll());
agentStatsSuite('redis', async (clock) => new RedisAgentStats(redis.client(), clock));

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
      const keys = await raw.keys(`${client.options.keyPrefix}{anomaly:r:agent-ttl}:*`);
      // The coarse bucket's action ids, the coarse buckets (the baseline) and the fine ones (the short window).
      expect(keys).toHaveLength(3);
      for (const key of keys) expect(await raw.pttl(key)).toBeGreaterThan(0);
    } finally {
      raw.disconnect();
    }
  });
});

describe('RedisAgentStats key layout', () => {
  const windows = { shortSeconds: 300, baselineSeconds: 3600 };
  const raw = () => createRedis(process.env.REDIS_URL!, '');

  it('keeps every key of a series in one Redis Cluster slot (the script declares all it touches)', async () => {
    const client = redis.client();
    await new RedisAgentStats(client).observe('anomaly:r:agent-slot', 'a-1', { confidence: 0.5, autonomous: true }, windows, new Date());
    const r = raw();
    try {
      const keys = await r.keys(`${client.options.keyPrefix}{anomaly:r:agent-slot}:*`);
      expect(keys).toHaveLength(3);
      expect(new Set(keys.map((k) => calculateSlot(k))).size).toBe(1);
    } finally {
      r.disconnect();
    }
  });

  it('deletes expired buckets as it goes, so a busy series stays small', async () => {
    const client = redis.client();
    // The wall clock moves with the proposals' event times, as in production.
    const t0 = Date.now();
    let wall = t0;
    const stats = new RedisAgentStats(client, () => wall);
    // One proposal per fine bucket (5 s) over three short windows (15 minutes): 180 fine buckets written.
    for (let i = 0; i <= 180; i++) {
      wall = t0 + i * 5_000;
      const seen = await stats.observe('anomaly:r:agent-busy', `a-${i}`, { confidence: 0.5, autonomous: true }, windows, new Date(wall));
      // The short window reads its 60 buckets (the one just added included) once it is full.
      if (i >= 60) expect(seen.short.count).toBe(60);
    }
    // The hash keeps the window's buckets and the few not yet expired behind it (a window and two buckets), and the sum.
    const fine = await client.hlen(bucketsKey('anomaly:r:agent-busy', 5_000));
    expect(fine).toBeGreaterThanOrEqual(60);
    expect(fine).toBeLessThanOrEqual(60 + 3 + 1);
  });
});
