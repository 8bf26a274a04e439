import { redisForTests } from '@countersign/testing';
import { backlogGaugesSuite } from './backlog-gauges.suite';
import { RedisBacklogGauges } from './redis-backlog-gauges';

// real: Redis (infra/stack.sh), under a key prefix of its own per test; fake: nothing.
const redis = redisForTests();
afterAll(() => redis.closeAll());

backlogGaugesSuite('redis', async () => new RedisBacklogGauges(redis.client()));

describe('RedisBacklogGauges rebuild', () => {
  it('builds beside the live gauges in steps, so a reader between two steps is answered with the old gauges, and leaves no staging key', async () => {
    const client = redis.client();
    const gauges = new RedisBacklogGauges(client);
    const t = Date.parse('2026-11-30T10:00:00.000Z');
    await gauges.add({ actionId: 'old', slaClass: 'critical', requiredRoles: ['security'], createdAt: t - 60_000 });
    const many = Array.from({ length: 5_000 }, (_, i) => ({ actionId: `m${i}`, slaClass: 'normal', requiredRoles: ['reviewer'], createdAt: t - i }));
    const building = gauges.rebuild(many, new Date(t));
    // Sent after the first step (one connection answers in order), answered before the swap.
    const during = await gauges.snapshot();
    await building;
    expect(during.bySlaClass).toEqual({ critical: { depth: 1, oldestCreatedAt: t - 60_000 } });
    expect((await gauges.snapshot()).bySlaClass).toEqual({ normal: { depth: 5_000, oldestCreatedAt: t - 4_999 } });
    expect(await client.keys(`${client.options.keyPrefix}backlog:next:*`)).toEqual([]);
    // The live keys are kept for good: nothing of the staging's expiry came with them.
    expect(await client.pttl('backlog:items')).toBe(-1);
    expect(await client.pttl('backlog:class:normal')).toBe(-1);
  });
});
