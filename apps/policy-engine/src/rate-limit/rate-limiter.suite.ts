import type { RateLimiter } from '@countersign/policy';

/** The rate-limiter contract (sliding windows): the Redis, PostgreSQL and in-process limiters all pass it. */
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

    // t0 is on a minute boundary: the fixed windows of the old limiters started there.
    const at = (ms: number) => new Date(t0.getTime() + ms);

    it('counts the hits just before a clock boundary against those just after it (no double allowance)', async () => {
      const limiter = await make();
      for (let i = 0; i < 3; i++) expect((await limiter.hit('actor:a', `a-${i}`, 3, 60_000, at(59_000))).allowed).toBe(true);
      expect(await limiter.hit('actor:a', 'a-3', 3, 60_000, at(61_000))).toEqual({ allowed: false, remaining: 0 });
      // An instance whose clock is a little behind still counts the hits stamped after its `now`.
      expect((await limiter.hit('actor:a', 'a-4', 3, 60_000, at(58_500))).allowed).toBe(false);
    });

    it('forgets a hit exactly windowMs after it (the window is (now - windowMs, now])', async () => {
      const limiter = await make();
      // The same two hits on two keys, then a third one millisecond apart: the oldest still counts, then no longer.
      for (const key of ['actor:early', 'actor:late']) {
        await limiter.hit(key, 'a-0', 2, 60_000, at(10_000));
        await limiter.hit(key, 'a-1', 2, 60_000, at(20_000));
      }
      expect(await limiter.hit('actor:early', 'a-2', 2, 60_000, at(69_999))).toEqual({ allowed: false, remaining: 0 });
      expect(await limiter.hit('actor:late', 'a-2', 2, 60_000, at(70_000))).toEqual({ allowed: true, remaining: 0 });
    });

    it('counts refused hits too: a steady flood keeps the limit exhausted', async () => {
      const limiter = await make();
      const allowed = [];
      // One hit every 20 s for five minutes against 2 a minute: each window holds three.
      for (let i = 0; i < 15; i++) allowed.push((await limiter.hit('tenant:flood', `f-${i}`, 2, 60_000, at(i * 20_000))).allowed);
      expect(allowed).toEqual([true, true, ...Array(13).fill(false)]);
    });

    it('answers a redelivery its first answer after newer hits, across a clock boundary, while it is in the window', async () => {
      const limiter = await make();
      expect(await limiter.hit('tenant:umbrella', 'a-0', 2, 60_000, at(30_000))).toEqual({ allowed: true, remaining: 1 });
      expect(await limiter.hit('tenant:umbrella', 'a-1', 2, 60_000, at(40_000))).toEqual({ allowed: true, remaining: 0 });
      expect(await limiter.hit('tenant:umbrella', 'a-2', 2, 60_000, at(50_000))).toEqual({ allowed: false, remaining: 0 });
      expect(await limiter.hit('tenant:umbrella', 'a-0', 2, 60_000, at(89_999))).toEqual({ allowed: true, remaining: 1 });
      expect(await limiter.hit('tenant:umbrella', 'a-2', 2, 60_000, at(89_999))).toEqual({ allowed: false, remaining: 0 });
      // The redeliveries were not counted again: a-0 has left, a-1 and a-2 remain, a-3 is the third.
      expect(await limiter.hit('tenant:umbrella', 'a-3', 2, 60_000, at(90_000))).toEqual({ allowed: false, remaining: 0 });
    });

    it('keeps a log per key and per window length', async () => {
      const limiter = await make();
      expect((await limiter.hit('actor:w', 'w-0', 1, 60_000, at(59_000))).allowed).toBe(true);
      // The same key under a two-minute window, and another key, do not share the one-minute log.
      expect(await limiter.hit('actor:w', 'w-1', 1, 120_000, at(61_000))).toEqual({ allowed: true, remaining: 0 });
      expect(await limiter.hit('actor:v', 'w-2', 1, 60_000, at(61_000))).toEqual({ allowed: true, remaining: 0 });
      expect(await limiter.hit('actor:w', 'w-3', 1, 60_000, at(61_000))).toEqual({ allowed: false, remaining: 0 });
      expect(await limiter.hit('actor:w', 'w-4', 1, 120_000, at(62_000))).toEqual({ allowed: false, remaining: 0 });
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
      // Another customer, and a window later, start from nothing.
      expect(await limiter.add('aggregate:refunds:c2', 'r-4', 5, 60_000, t0)).toEqual({ count: 1, sum: 5 });
      expect(await limiter.add('aggregate:refunds:c1', 'r-5', 1, 60_000, at(60_000))).toEqual({ count: 1, sum: 1 });
    });

    it('slides aggregates too: the count and sum drop the amounts that left the window, and a redelivery keeps its answer', async () => {
      const limiter = await make();
      expect(await limiter.add('aggregate:refunds:c3', 'r-1', 10, 60_000, at(10_000))).toEqual({ count: 1, sum: 10 });
      expect(await limiter.add('aggregate:refunds:c3', 'r-2', 12.5, 60_000, at(30_000))).toEqual({ count: 2, sum: 22.5 });
      // Across the clock boundary the first two still count, then r-1 leaves.
      expect(await limiter.add('aggregate:refunds:c3', 'r-3', 100, 60_000, at(61_000))).toEqual({ count: 3, sum: 122.5 });
      expect(await limiter.add('aggregate:refunds:c3', 'r-4', 0.25, 60_000, at(70_000))).toEqual({ count: 3, sum: 112.75 });
      expect(await limiter.add('aggregate:refunds:c3', 'r-2', 12.5, 60_000, at(75_000))).toEqual({ count: 2, sum: 22.5 });
      // Only what arrived in the last minute: r-3 and r-4, then r-5.
      expect(await limiter.add('aggregate:refunds:c3', 'r-5', 1, 60_000, at(100_000))).toEqual({ count: 3, sum: 101.25 });
      // The same key under a longer window is another log.
      expect(await limiter.add('aggregate:refunds:c3', 'r-5', 1, 3_600_000, at(100_000))).toEqual({ count: 1, sum: 1 });
    });

    it('keeps the history through a clock that jumped two days ahead and came back (clock probe, 2026-12-05)', async () => {
      const limiter = await make();
      const day = 86_400_000;
      expect((await limiter.hit('order:4711', 'o-0', 2, day, t0)).allowed).toBe(true);
      expect((await limiter.hit('order:4711', 'o-1', 2, day, t0)).allowed).toBe(true);
      expect(await limiter.add('aggregate:refunds:4711', 'o-0', 10, day, t0)).toEqual({ count: 1, sum: 10 });
      expect(await limiter.add('aggregate:refunds:4711', 'o-1', 20, day, t0)).toEqual({ count: 2, sum: 30 });
      // Two days ahead the real hits are out of the window (the limiter cannot tell a jump from a quiet key) ...
      expect(await limiter.hit('order:4711', 'o-2', 2, day, at(2 * day))).toEqual({ allowed: true, remaining: 1 });
      expect(await limiter.add('aggregate:refunds:4711', 'o-2', 5, day, at(2 * day))).toEqual({ count: 1, sum: 5 });
      // ... but were not deleted on its word: ten seconds after them they count, and so does the hit from "the future".
      expect(await limiter.hit('order:4711', 'o-3', 2, day, at(10_000))).toEqual({ allowed: false, remaining: 0 });
      expect(await limiter.add('aggregate:refunds:4711', 'o-3', 1, day, at(10_000))).toEqual({ count: 4, sum: 36 });
    });

    it('leaves out the entries a prune kept past the window when the key was quiet longer than the skew', async () => {
      const limiter = await make();
      const day = 86_400_000;
      expect(await limiter.add('aggregate:refunds:c4', 'q-1', 10, day, t0)).toEqual({ count: 1, sum: 10 });
      expect(await limiter.add('aggregate:refunds:c4', 'q-2', 20, day, at(3_600_000))).toEqual({ count: 2, sum: 30 });
      // A day and half an hour later: q-1 is out of the window, whether or not it is still stored.
      expect(await limiter.add('aggregate:refunds:c4', 'q-3', 1, day, at(day + 1_800_000))).toEqual({ count: 2, sum: 21 });
      // q-1 again, now a new action (its window is over): counted once, with its amount.
      expect(await limiter.add('aggregate:refunds:c4', 'q-1', 10, day, at(day + 1_800_000))).toEqual({ count: 3, sum: 31 });
      expect(await limiter.add('aggregate:refunds:c4', 'q-1', 10, day, at(day + 1_900_000))).toEqual({ count: 3, sum: 31 });
      expect((await limiter.hit('actor:q', 'q-1', 1, day, t0)).allowed).toBe(true);
      expect(await limiter.hit('actor:q', 'q-2', 1, day, at(day + 1_800_000))).toEqual({ allowed: true, remaining: 0 });
    });
  });
}
