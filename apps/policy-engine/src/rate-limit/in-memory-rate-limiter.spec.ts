import { InMemoryRateLimiter } from '@countersign/policy';
import { rateLimiterSuite } from './rate-limiter.suite';

// real: the in-process limiter; fake: nothing.
rateLimiterSuite('in-memory', async () => new InMemoryRateLimiter());

it('sweeps by the newest entry, not by a clock that jumped ahead (clock probe, 2026-12-05)', async () => {
  const t0 = new Date('2026-11-24T10:00:00.000Z');
  const day = 86_400_000;
  const limiter = new InMemoryRateLimiter();
  for (let i = 0; i < 2; i++) expect((await limiter.hit('order:4712', `o-${i}`, 2, day, t0)).allowed).toBe(true);
  for (let i = 2; i < 999; i++) await limiter.hit(`order:${i}`, `o-${i}`, 2, day, t0);
  // The 1,000th call sweeps, two days ahead: order:4712's log must stay.
  expect((await limiter.hit('order:4713', 'o-0', 2, day, new Date(t0.getTime() + 2 * day))).allowed).toBe(true);
  expect(await limiter.hit('order:4712', 'o-2', 2, day, new Date(t0.getTime() + 10_000))).toEqual({ allowed: false, remaining: 0 });
  // Traffic on other keys while the clock is ahead, and the next sweep (red team, 2026-12-05: bounded by the newest entry
  // of all keys, it erased every window not hit during the jump).
  for (let i = 0; i < 1_000; i++) await limiter.hit(`order:j${i}`, `j-${i}`, 2, day, new Date(t0.getTime() + 2 * day));
  expect(await limiter.hit('order:4712', 'o-3', 2, day, new Date(t0.getTime() + 20_000))).toEqual({ allowed: false, remaining: 0 });
});
