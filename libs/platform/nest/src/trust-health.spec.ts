import { TOPICS, TopicMap } from '@countersign/contracts';
import { evaluateReadiness } from './platform.module';
import {
  MAX_CLOCK_AHEAD_MS,
  MAX_HEARTBEAT_MS,
  RECENTLY_STALE_HEARTBEATS,
  STALE_AFTER_HEARTBEATS,
  TrustHealthState,
  trustReadinessSignal,
} from './trust-health';

// real: TrustHealthState; fake: the clock.
const event = (health: 'healthy' | 'degraded' | 'unhealthy', time: number, id = `e-${time}`): TopicMap[typeof TOPICS.trustHealthChanged] => ({
  id,
  type: TOPICS.trustHealthChanged,
  version: 1,
  source: 'review-queue',
  time: new Date(time).toISOString(),
  subject: 'trust-health',
  correlationId: id,
  causationId: null,
  actor: { id: 'review-queue', kind: 'service', authMethod: 'service' },
  data: { health, findings: [], reason: `test: ${health}`, heartbeatMs: 10_000, checkMs: 1_000 },
});

describe('TrustHealthState', () => {
  const t0 = Date.parse('2026-11-30T10:00:00.000Z');
  let now = t0;
  beforeEach(() => (now = t0));

  it('knows nothing until the topic is read to its end; an empty topic is unknown (nobody vouched), not healthy', () => {
    const s = new TrustHealthState(() => now);
    expect(s.healthy()).toBeUndefined();
    expect(s.reason()).toMatch(/not been read to its end/);
    s.caughtUp();
    expect(s.healthy()).toBe('unknown');
    expect(s.reason()).toMatch(/no trust monitor has reported/);
  });

  it('trusts healthy and degraded (a rotation due is a warning), not unhealthy; the latest verdict wins, an older one read late does not', () => {
    const s = new TrustHealthState(() => now);
    const seen: Array<boolean | 'unknown'> = [];
    s.onApplied((h) => void seen.push(h));
    s.apply(event('degraded', t0));
    s.caughtUp();
    expect(s.healthy()).toBe(true);
    s.apply(event('unhealthy', t0 + 1_000));
    expect(s.healthy()).toBe(false);
    s.apply(event('healthy', t0 + 500));
    expect(s.healthy()).toBe(false);
    expect(seen).toEqual([true, false]);
  });

  it(`takes a verdict older than ${STALE_AFTER_HEARTBEATS} heartbeats and a check as unknown: the monitor stopped`, () => {
    const s = new TrustHealthState(() => now);
    s.caughtUp();
    s.apply(event('healthy', t0));
    now = t0 + STALE_AFTER_HEARTBEATS * 10_000 + 1_000;
    expect(s.healthy()).toBe(true);
    now += 1;
    expect(s.healthy()).toBe('unknown');
    expect(s.reason()).toMatch(/stale/);
  });

  it(`calls a verdict recently stale for ${RECENTLY_STALE_HEARTBEATS} heartbeats more (a passing outage), then the monitor gone`, () => {
    const s = new TrustHealthState(() => now);
    s.caughtUp();
    s.apply(event('healthy', t0));
    now = t0 + STALE_AFTER_HEARTBEATS * 10_000 + 1_000;
    expect(s.recentlyStale()).toBe(false); // still fresh
    now += 1;
    expect(s.recentlyStale()).toBe(true);
    now = t0 + (STALE_AFTER_HEARTBEATS + RECENTLY_STALE_HEARTBEATS) * 10_000 + 1_000;
    expect(s.recentlyStale()).toBe(true);
    now += 1;
    expect(s.recentlyStale()).toBe(false);
    expect(s.healthy()).toBe('unknown');
    // Never vouched for (an empty topic): not a passing outage.
    const empty = new TrustHealthState(() => now);
    empty.caughtUp();
    expect(empty.recentlyStale()).toBe(false);
  });

  it('refuses a verdict stamped ahead of its clock: a "healthy" from the future cannot outrank the genuine verdicts (red team, 2026-12-02)', () => {
    const s = new TrustHealthState(() => now);
    s.caughtUp();
    expect(s.apply(event('healthy', t0 + 150_000, 'future'))).toBe(
      `verdict future is stamped ${new Date(t0 + 150_000).toISOString()}, more than ${MAX_CLOCK_AHEAD_MS / 1000} s ahead of this clock: not applied`,
    );
    expect(s.healthy()).toBe('unknown');
    // The monitor's verdict, stamped now, applies; a clock a little ahead (within the allowance) is still read.
    expect(s.apply(event('unhealthy', t0))).toBeUndefined();
    expect(s.healthy()).toBe(false);
    expect(s.apply(event('unhealthy', t0 + MAX_CLOCK_AHEAD_MS))).toBeUndefined();
    expect(s.source()!.time).toBe(new Date(t0 + MAX_CLOCK_AHEAD_MS).toISOString());
    expect(s.apply({ ...event('healthy', t0), time: 'not a time' })).toMatch(/has no readable time/);
    expect(s.healthy()).toBe(false);
  });

  it("counts a verdict's own heartbeat at most as long as a monitor may be configured: a huge one does not keep it fresh", () => {
    const s = new TrustHealthState(() => now);
    s.caughtUp();
    const forever = event('healthy', t0);
    s.apply({ ...forever, data: { ...forever.data, heartbeatMs: Number.MAX_SAFE_INTEGER, checkMs: Number.MAX_SAFE_INTEGER } });
    expect(s.healthy()).toBe(true);
    now = t0 + STALE_AFTER_HEARTBEATS * MAX_HEARTBEAT_MS + 300_000 + 1;
    expect(s.healthy()).toBe('unknown');
  });
});

describe('trustReadinessSignal: the trust stack on /readyz, a signal and not a gate (red team, 2026-12-07)', () => {
  it('is ok only for a fresh healthy verdict, says what any other is, and never makes the service not ready', async () => {
    const t0 = Date.parse('2026-11-30T10:00:00.000Z');
    let now = t0;
    const s = new TrustHealthState(() => now);
    const read = () => evaluateReadiness([{ name: 'store', check: async () => true }, trustReadinessSignal(s)]);
    expect(await read()).toEqual({
      ready: true,
      checks: { store: 'ok' },
      signals: { trust: 'the trust health control topic has not been read to its end yet' },
    });
    s.caughtUp();
    expect((await read()).signals.trust).toMatch(/^no trust monitor has reported the trust stack yet/);
    s.apply(event('healthy', t0));
    expect(await read()).toEqual({ ready: true, checks: { store: 'ok' }, signals: { trust: 'ok' } });
    s.apply(event('degraded', t0 + 1));
    expect((await read()).signals.trust).toBe('degraded: test: degraded');
    s.apply(event('unhealthy', t0 + 2));
    expect(await read()).toEqual({ ready: true, checks: { store: 'ok' }, signals: { trust: 'unhealthy: test: unhealthy' } });
    // A reason that begins with its verdict (as the monitor writes it) says it once.
    s.apply({ ...event('unhealthy', t0 + 2.5), data: { ...event('unhealthy', t0 + 2.5).data, reason: 'unhealthy: executor outcome-signing missing' } });
    expect((await read()).signals.trust).toBe('unhealthy: executor outcome-signing missing');
    // A verdict too old to count (the monitor stopped): said as such.
    s.apply(event('healthy', t0 + 3));
    now = t0 + 3 + 10 * 60_000;
    expect((await read()).signals.trust).toMatch(/^the trust monitor's last report \(.*\) is stale: failing closed$/);
    // A failing gate beside it still makes it not ready.
    expect(await evaluateReadiness([{ name: 'store', check: async () => false }, trustReadinessSignal(s)])).toMatchObject({
      ready: false,
      checks: { store: 'check failed' },
    });
  });
});
