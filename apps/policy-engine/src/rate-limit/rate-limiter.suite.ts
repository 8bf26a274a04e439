import type { RateLimiter } from '@countersign/policy';

/** The rate-limiter contract: the Redis limiter and the in-process one both pass it. */
export function rateLimiterSuite(name: string, make: () => Promise<RateLimiter>) {
  describe(`RateLimiter shared suite: ${name}`, () => {
    const t0 = new Date('2026-11-24T10:00:00.000Z');

    it('allows up to the limit in a window, then refuses, and counts each key apart', async () => {
      const limiter = await make();
      const results = [];
      for (let i = 0; i < 4; i++) results.push((await limiter.hit('tenant:acme', `a-${i}`, 3, 60_000, t0)).allowed);
      expect(results).toEqual([true, true, true, false]);
      expect((await limiter.hit('tenant:globex', 'a-0', 3, 60_000, t0)).allowed).toBe(true);
    });

    it('starts again in the next window', async () => {
      const limiter = await make();
      for (let i = 0; i < 3; i++) await limiter.hit('actor:a', `a-${i}`, 3, 60_000, t0);
      expect((await limiter.hit('actor:a', 'a-3', 3, 60_000, t0)).allowed).toBe(false);
      expect(await limiter.hit('actor:a', 'a-4', 3, 60_000, new Date(t0.getTime() + 60_000))).toEqual({ allowed: true, remaining: 2 });
    });

    it('counts a repeated hit id once and answers it as the first time (a redelivery changes nothing)', async () => {
      const limiter = await make();
      expect(await limiter.hit('tenant:initech', 'a-1', 2, 60_000, t0)).toEqual({ allowed: true, remaining: 1 });
      expect(await limiter.hit('tenant:initech', 'a-1', 2, 60_000, t0)).toEqual({ allowed: true, remaining: 1 });
      expect(await limiter.hit('tenant:initech', 'a-2', 2, 60_000, t0)).toEqual({ allowed: true, remaining: 0 });
      expect(await limiter.hit('tenant:initech', 'a-3', 2, 60_000, t0)).toEqual({ allowed: false, remaining: 0 });
      // The redelivered first hit is still allowed; the refused third stays refused.
      expect((await limiter.hit('tenant:initech', 'a-1', 2, 60_000, t0)).allowed).toBe(true);
      expect((await limiter.hit('tenant:initech', 'a-3', 2, 60_000, t0)).allowed).toBe(false);
    });

    it('adds each action once to the count and sum of its window, and answers a redelivery as the first time', async () => {
      const limiter = await make();
      expect(await limiter.add('aggregate:refunds:c1', 'r-1', 10, 60_000, t0)).toEqual({ count: 1, sum: 10 });
      expect(await limiter.add('aggregate:refunds:c1', 'r-2', 12.5, 60_000, t0)).toEqual({ count: 2, sum: 22.5 });
      // A redelivery of the first action: not added again, the same answer.
      expect(await limiter.add('aggregate:refunds:c1', 'r-1', 10, 60_000, t0)).toEqual({ count: 1, sum: 10 });
      expect(await limiter.add('aggregate:refunds:c1', 'r-3', 0.25, 60_000, t0)).toEqual({ count: 3, sum: 22.75 });
      // Another customer, and the next window, start from nothing.
      expect(await limiter.add('aggregate:refunds:c2', 'r-4', 5, 60_000, t0)).toEqual({ count: 1, sum: 5 });
      expect(await limiter.add('aggregate:refunds:c1', 'r-5', 1, 60_000, new Date(t0.getTime() + 60_000))).toEqual({ count: 1, sum: 1 });
    });
  });
}
