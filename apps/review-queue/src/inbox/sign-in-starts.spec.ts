import { SignInStarts } from './sign-in-starts';

// real: the counter; fake: the clock.
describe('sign-ins started per source address', () => {
  const fromHere = 'too many sign-ins started from this address: try again in a minute';

  it('allows `limit` a minute per address, then refuses until the minute is over; other addresses are not affected', () => {
    let now = 0;
    const starts = new SignInStarts(3, 100, () => now);
    expect([1, 2, 3, 4].map(() => starts.refusal('10.0.0.1'))).toEqual([undefined, undefined, undefined, fromHere]);
    expect(starts.refusal('10.0.0.2')).toBeUndefined();
    now = 59_999;
    expect(starts.refusal('10.0.0.1')).toBe(fromHere);
    now = 60_000;
    expect(starts.refusal('10.0.0.1')).toBeUndefined();
  });

  it('counts an IPv6 /64 as one address', () => {
    const starts = new SignInStarts(1, 100, () => 0);
    expect(starts.refusal('2001:db8:1:2::1')).toBeUndefined();
    expect(starts.refusal('2001:db8:1:2::ffff')).toBe(fromHere);
  });

  it('has no cap over all addresses together: a flood from many addresses does not keep a reviewer from signing in (red team, 2026-12-08)', () => {
    const starts = new SignInStarts(30, 100_000, () => 0);
    for (let i = 0; i < 20; i++) for (let j = 0; j < 30; j++) expect(starts.refusal(`127.0.0.${10 + i}`)).toBeUndefined();
    expect(starts.refusal('127.0.0.1')).toBeUndefined();
  });

  it('tracks at most maxTracked addresses, dropping the oldest', () => {
    const starts = new SignInStarts(1, 2, () => 0);
    expect(starts.refusal('10.0.0.1')).toBeUndefined();
    expect(starts.refusal('10.0.0.1')).toBe(fromHere);
    starts.refusal('10.0.0.2');
    starts.refusal('10.0.0.3'); // 10.0.0.1 is dropped: the map holds the other two
    expect(starts.refusal('10.0.0.1')).toBeUndefined();
  });
});
