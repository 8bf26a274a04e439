// real: the request windows; fake: the clock.
import { RequestWindows } from './request-windows';

describe('request windows (a count per key and fixed window)', () => {
  it('allows `limit` requests per key and window, then says how long until the window is over', () => {
    let now = 0;
    const windows = new RequestWindows(2, 60_000, 100, () => now);
    expect([windows.take('a'), windows.take('a')]).toEqual([undefined, undefined]);
    now = 15_000;
    expect(windows.take('a')).toBe(45_000);
    expect(windows.take('b')).toBeUndefined();
    now = 60_000;
    expect(windows.take('a')).toBeUndefined();
  });

  it('tracks at most maxTracked keys (the window started longest ago goes first)', () => {
    const windows = new RequestWindows(1, 60_000, 3, () => 0);
    for (let i = 0; i < 1_000; i++) windows.take(`10.0.${i >> 8}.${i & 255}`);
    expect(windows.tracked).toBe(3);
  });
});
