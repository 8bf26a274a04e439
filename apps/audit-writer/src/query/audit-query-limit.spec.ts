import { AuditQueryLimit, DEFAULT_AUDIT_QUERY_LIMITS } from './audit-query-limit';

// real: AuditQueryLimit; fake: its clock (the test's own). The guard over HTTP: audit.controller.spec.ts.
describe('AuditQueryLimit (a token bucket and an in-flight count per principal and kind)', () => {
  const limits = { wholeLog: { perMinute: 30, burst: 3, inFlight: 2 }, search: { perMinute: 600, burst: 100, inFlight: 1 } };
  const released = (a: ReturnType<AuditQueryLimit['admit']>) => ('release' in a ? (a.release(), undefined) : a);

  it('lets a burst through, then one every 60/perMinute seconds, saying how many whole seconds until the next', () => {
    let now = 0;
    const limit = new AuditQueryLimit(limits, () => now);
    expect([1, 2, 3].map(() => released(limit.admit('ada', 'wholeLog')))).toEqual([undefined, undefined, undefined]);
    expect(limit.admit('ada', 'wholeLog')).toEqual({ retryAfter: 2, why: 'rate' });
    now += 1_999;
    expect(limit.admit('ada', 'wholeLog')).toEqual({ retryAfter: 1, why: 'rate' });
    now += 2;
    expect(released(limit.admit('ada', 'wholeLog'))).toBeUndefined();
    // Each principal and each kind has its own bucket.
    expect(released(limit.admit('bob', 'wholeLog'))).toBeUndefined();
    expect(released(limit.admit('ada', 'search'))).toBeUndefined();
  });

  it('refuses past the in-flight count without taking a token, and admits again once one is released', () => {
    const now = 0;
    const limit = new AuditQueryLimit(limits, () => now);
    const a = limit.admit('ada', 'wholeLog');
    const b = limit.admit('ada', 'wholeLog');
    expect(limit.admit('ada', 'wholeLog')).toEqual({ retryAfter: 1, why: 'in-flight' });
    if (!('release' in a) || !('release' in b)) throw new Error('not admitted');
    a.release();
    a.release(); // once only
    expect('release' in limit.admit('ada', 'wholeLog')).toBe(true);
    // Two in flight again (b and the last), and the burst of 3 spent: the rate refuses only once one ends.
    expect(limit.admit('ada', 'wholeLog')).toEqual({ retryAfter: 1, why: 'in-flight' });
    b.release();
    expect(limit.admit('ada', 'wholeLog')).toEqual({ retryAfter: 2, why: 'rate' });
  });

  it('refuses limits that let nothing through, and has the documented defaults', () => {
    expect(() => new AuditQueryLimit({ ...limits, search: { perMinute: 0, burst: 1, inFlight: 1 } })).toThrow(/search/);
    expect(() => new AuditQueryLimit({ ...limits, wholeLog: { perMinute: 1, burst: 1, inFlight: 0 } })).toThrow(/wholeLog/);
    expect(DEFAULT_AUDIT_QUERY_LIMITS).toEqual({
      wholeLog: { perMinute: 30, burst: 10, inFlight: 2 },
      search: { perMinute: 600, burst: 100, inFlight: 2 },
    });
  });
});
