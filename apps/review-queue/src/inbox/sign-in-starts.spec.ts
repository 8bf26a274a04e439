import { SignInStarts } from './sign-in-starts';

// real: the counter; fake: the clock.
describe('sign-ins started per source address, and from all of them', () => {
  const fromHere = 'too many sign-ins started from this address: try again in a minute';
  const fromAll = 'too many sign-ins are being started right now: try again in a minute';

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

  it('allows `inAll` a minute from all addresses together, whatever number of addresses they come from (red team, 2026-12-06)', () => {
    let now = 0;
    const starts = new SignInStarts(30, 100, () => now, 3);
    expect(['127.1.0.1', '127.1.0.2', '127.1.0.3', '127.1.0.4'].map((a) => starts.refusal(a))).toEqual([undefined, undefined, undefined, fromAll]);
    now = 60_000;
    expect(starts.refusal('127.1.0.5')).toBeUndefined();
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
