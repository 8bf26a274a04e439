import { PRUNE_SKEW_MS, SweepClock } from './rate-limit';

// real: the sweep clock with a monotonic clock the test moves; fake: nothing.
describe('SweepClock (red team, 2026-12-05)', () => {
  const t0 = Date.parse('2026-12-05T10:00:00.000Z');
  const day = 86_400_000;

  it('does not creep with sweeps while the monotonic clock stands still (a skew carried from sweep to sweep moved it 5 min each)', () => {
    const clock = new SweepClock(() => 0);
    clock.see(t0);
    for (let i = 0; i < 100; i++) expect(clock.bound(t0 + day)).toBe(t0 + PRUNE_SKEW_MS);
  });

  it('follows the monotonic clock, never past the wall clock, and comes back with it', () => {
    let mono = 0;
    const clock = new SweepClock(() => mono);
    clock.see(t0);
    mono = 60_000;
    expect(clock.bound(t0 + day)).toBe(t0 + 60_000 + PRUNE_SKEW_MS); // a jump of a day: a minute of it believed
    mono = 120_000;
    expect(clock.bound(t0 + 30_000)).toBe(t0 + 30_000); // the clock back, behind the anchor: the wall clock
    mono = 180_000;
    expect(clock.bound(t0 + 90_000)).toBe(t0 + 90_000);
  });

  it('sweeps up to the wall clock before it is anchored (nothing earlier to go by)', () => {
    expect(new SweepClock(() => 0).bound(t0)).toBe(t0);
  });
});
