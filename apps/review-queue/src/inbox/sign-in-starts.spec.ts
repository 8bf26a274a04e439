import { SignInStarts } from './sign-in-starts';

// real: the counter; fake: the clock.
describe('sign-ins started per source address', () => {
  it('allows `limit` a minute per address, then refuses until the minute is over; other addresses are not affected', () => {
    let now = 0;
    const starts = new SignInStarts(3, 100, () => now);
    expect([1, 2, 3, 4].map(() => starts.allow('10.0.0.1'))).toEqual([true, true, true, false]);
    expect(starts.allow('10.0.0.2')).toBe(true);
    now = 59_999;
    expect(starts.allow('10.0.0.1')).toBe(false);
    now = 60_000;
    expect(starts.allow('10.0.0.1')).toBe(true);
  });

  it('tracks at most maxTracked addresses, dropping the oldest', () => {
    const starts = new SignInStarts(1, 2, () => 0);
    expect(starts.allow('a')).toBe(true);
    expect(starts.allow('a')).toBe(false);
    starts.allow('b');
    starts.allow('c'); // `a` is dropped: the map holds b and c
    expect(starts.allow('a')).toBe(true);
  });
});
