import type { AgentStats } from '@countersign/policy';

/**
 * The agent-statistics contract: the Redis adapter and the in-process twin both pass it. `make(clock)` gives an adapter
 * whose buckets expire by `clock` (the wall clock, epoch ms; the real one when none is given).
 */
export function agentStatsSuite(name: string, make: (clock?: () => number) => Promise<AgentStats>) {
  describe(`AgentStats shared suite: ${name}`, () => {
    const t0 = new Date('2026-11-24T10:00:00.000Z');
    const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
    const windows = { shortSeconds: 300, baselineSeconds: 3600 };

    it('answers the short window with the observed proposal in it, and keeps each series apart', async () => {
      const stats = await make();
      const first = await stats.observe('anomaly:r:agent-a', 'a-1', { confidence: 0.5, autonomous: true }, windows, t0);
      expect(first.short).toEqual({ count: 1, confidenceSum: 0.5, autonomous: 1, seconds: 300 });
      expect(first.baseline.count).toBe(0);
      const second = await stats.observe('anomaly:r:agent-a', 'a-2', { confidence: 0.75, autonomous: false }, windows, at(10));
      expect(second.short).toEqual({ count: 2, confidenceSum: 1.25, autonomous: 1, seconds: 300 });
      const other = await stats.observe('anomaly:r:agent-b', 'b-1', { confidence: 0.25, autonomous: false }, windows, at(10));
      expect(other.short).toEqual({ count: 1, confidenceSum: 0.25, autonomous: 0, seconds: 300 });
    });

    it('adds each action once: a redelivered proposal (same id, same time) is not counted again', async () => {
      const stats = await make();
      await stats.observe('anomaly:r:agent-a', 'a-1', { confidence: 0.5, autonomous: true }, windows, t0);
      await stats.observe('anomaly:r:agent-a', 'a-2', { confidence: 0.5, autonomous: true }, windows, at(1));
      const again = await stats.observe('anomaly:r:agent-a', 'a-1', { confidence: 0.5, autonomous: true }, windows, t0);
      expect(again.short.count).toBe(2);
      const later = await stats.observe('anomaly:r:agent-a', 'a-3', { confidence: 0.5, autonomous: false }, windows, at(2));
      expect(later.short).toEqual({ count: 3, confidenceSum: 1.5, autonomous: 2, seconds: 300 });
    });

    it('counts older proposals in the baseline, not in the short window, and forgets what is older than the baseline', async () => {
      const stats = await make();
      await stats.observe('anomaly:r:agent-a', 'old', { confidence: 0.1, autonomous: true }, windows, at(-7200));
      await stats.observe('anomaly:r:agent-a', 'base-1', { confidence: 0.6, autonomous: false }, windows, at(-1800));
      await stats.observe('anomaly:r:agent-a', 'base-2', { confidence: 0.8, autonomous: true }, windows, at(-400));
      await stats.observe('anomaly:r:agent-a', 'recent', { confidence: 0.9, autonomous: true }, windows, at(-200));
      const now = await stats.observe('anomaly:r:agent-a', 'now', { confidence: 1, autonomous: true }, windows, t0);
      expect(now.short).toEqual({ count: 2, confidenceSum: 1.9, autonomous: 2, seconds: 300 });
      expect(now.baseline.count).toBe(2);
      expect(now.baseline.confidenceSum).toBeCloseTo(1.4, 9);
      expect(now.baseline.autonomous).toBe(1);
      // The baseline ends where the short window starts (a burst does not raise its own baseline), and its seconds
      // start at its earliest proposal (the agent's rate is not diluted by the hour before it began): 25 minutes.
      expect(now.baseline.seconds).toBe(1500);
      // An hour later the short window is empty but for the new one, and the baseline holds the burst.
      const hourLater = await stats.observe('anomaly:r:agent-a', 'next', { confidence: 0.5, autonomous: false }, windows, at(3000));
      expect(hourLater.short.count).toBe(1);
      expect(hourLater.baseline.count).toBe(3);
    });

    it('counts a proposal whose event time lags in its own bucket, and the next reading sees it', async () => {
      const stats = await make();
      // Fine buckets of 5 s: the windows have moved past the first buckets before the late one comes.
      for (const [id, s] of [
        ['a-1', 0],
        ['a-2', 10],
        ['a-3', 20],
      ] as const)
        await stats.observe('anomaly:r:agent-a', id, { confidence: 0.5, autonomous: true }, windows, at(s));
      // Its own windows end at its own time: the proposals after it are not in them.
      const late = await stats.observe('anomaly:r:agent-a', 'late', { confidence: 0.25, autonomous: false }, windows, at(5));
      expect(late.short).toEqual({ count: 2, confidenceSum: 0.75, autonomous: 1, seconds: 300 });
      const next = await stats.observe('anomaly:r:agent-a', 'a-4', { confidence: 0.5, autonomous: true }, windows, at(21));
      expect(next.short).toEqual({ count: 5, confidenceSum: 2.25, autonomous: 4, seconds: 300 });
      // Likewise in the baseline (coarse buckets of a minute): an hour on, all five are in it, read twice.
      const hourOn = await stats.observe('anomaly:r:agent-a', 'b-1', { confidence: 0.5, autonomous: true }, windows, at(3000));
      expect(hourOn.baseline.count).toBe(5);
      const late2 = await stats.observe('anomaly:r:agent-a', 'late-2', { confidence: 0.5, autonomous: true }, windows, at(30));
      expect(late2.short.count).toBe(6);
      const again = await stats.observe('anomaly:r:agent-a', 'b-2', { confidence: 0.5, autonomous: true }, windows, at(3001));
      expect(again.baseline.count).toBe(6);
      expect(again.baseline.confidenceSum).toBeCloseTo(2.75, 9);
    });

    it('forgets a bucket once its time to live has passed on the wall clock, whatever the event times say', async () => {
      let wall = Date.parse('2026-12-01T00:00:00.000Z');
      const stats = await make(() => wall);
      await stats.observe('anomaly:r:agent-a', 'a-1', { confidence: 0.5, autonomous: true }, windows, at(-100));
      const both = await stats.observe('anomaly:r:agent-a', 'a-2', { confidence: 0.5, autonomous: true }, windows, t0);
      expect(both.short.count).toBe(2);
      // A short window's bucket lives for the window and two buckets (310 s) after its last proposal.
      wall += 400_000;
      const alone = await stats.observe('anomaly:r:agent-a', 'a-3', { confidence: 0.25, autonomous: false }, windows, t0);
      expect(alone.short).toEqual({ count: 1, confidenceSum: 0.25, autonomous: 0, seconds: 300 });
    });

    it('keeps the windows of a rule whose windows change apart: the new ones start cold', async () => {
      const stats = await make();
      await stats.observe('anomaly:r:agent-a', 'a-1', { confidence: 0.5, autonomous: true }, windows, at(-1000));
      const changed = await stats.observe('anomaly:r:agent-a', 'a-2', { confidence: 0.5, autonomous: true }, { shortSeconds: 600, baselineSeconds: 7200 }, t0);
      expect(changed.short.count).toBe(1);
      expect(changed.baseline.count).toBe(0);
    });
  });
}
