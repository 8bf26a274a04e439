import type { RateLimiter } from '@countersign/policy';

/** The rate-limiter contract: the Redis limiter and the in-process one both pass it. */
export function rateLimiterContract(name: string, make: () => Promise<RateLimiter>) {
  describe(`RateLimiter contract: ${name}`, () => {
    const t0 = new Date('2026-11-24T10:00:00.000Z');

    it('allows up to the limit in a window, then refuses, and counts each key apart', async () => {
      const limiter = await make();
      const results = [];
      for (let i = 0; i < 4; i++) results.push((await limiter.hit('tenant:acme', 3, 60_000, t0)).allowed);
      expect(results).toEqual([true, true, true, false]);
      expect((await limiter.hit('tenant:globex', 3, 60_000, t0)).allowed).toBe(true);
    });

    it('starts again in the next window', async () => {
      const limiter = await make();
      for (let i = 0; i < 3; i++) await limiter.hit('actor:a', 3, 60_000, t0);
      expect((await limiter.hit('actor:a', 3, 60_000, t0)).allowed).toBe(false);
      expect(await limiter.hit('actor:a', 3, 60_000, new Date(t0.getTime() + 60_000))).toEqual({ allowed: true, remaining: 2 });
    });
  });
}
