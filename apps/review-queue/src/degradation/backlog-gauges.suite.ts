import { BacklogGauges, BacklogItem } from './backlog-gauges';

const T0 = Date.parse('2026-11-30T10:00:00.000Z');
const item = (actionId: string, slaClass: string, requiredRoles: string[], minutesAgo: number): BacklogItem => ({
  actionId,
  slaClass,
  requiredRoles,
  createdAt: T0 - minutesAgo * 60_000,
});

/** What every backlog-gauge store does: the Redis adapter and its in-memory twin both pass it. */
export function backlogGaugesSuite(name: string, make: () => Promise<BacklogGauges>) {
  describe(`BacklogGauges shared suite: ${name}`, () => {
    it('counts depth and the oldest item per SLA class and per required role, each item once', async () => {
      const gauges = await make();
      expect(await gauges.snapshot()).toEqual({ bySlaClass: {}, byRole: {} });
      await gauges.add(item('a1', 'high', ['finance'], 5));
      await gauges.add(item('a2', 'high', ['finance', 'security'], 9));
      await gauges.add(item('a3', 'normal', ['reviewer'], 1));
      await gauges.add(item('a2', 'high', ['finance', 'security'], 9));
      expect(await gauges.snapshot()).toEqual({
        bySlaClass: { high: { depth: 2, oldestCreatedAt: T0 - 9 * 60_000 }, normal: { depth: 1, oldestCreatedAt: T0 - 60_000 } },
        byRole: {
          finance: { depth: 2, oldestCreatedAt: T0 - 9 * 60_000 },
          security: { depth: 1, oldestCreatedAt: T0 - 9 * 60_000 },
          reviewer: { depth: 1, oldestCreatedAt: T0 - 60_000 },
        },
      });
    });

    it('stops counting a decided item, and the oldest moves on', async () => {
      const gauges = await make();
      await gauges.add(item('a1', 'high', ['finance'], 5));
      await gauges.add(item('a2', 'high', ['finance', 'security'], 9));
      await gauges.remove('a2');
      await gauges.remove('a2');
      await gauges.remove('never-there');
      const snap = await gauges.snapshot();
      expect(snap.bySlaClass.high).toEqual({ depth: 1, oldestCreatedAt: T0 - 5 * 60_000 });
      expect(snap.byRole.finance).toEqual({ depth: 1, oldestCreatedAt: T0 - 5 * 60_000 });
      expect(snap.byRole.security?.depth ?? 0).toBe(0);
    });

    it('stops counting items decided at the same time, each once', async () => {
      const gauges = await make();
      await Promise.all(Array.from({ length: 40 }, (_, i) => gauges.add(item(`s${i}`, i % 2 ? 'high' : 'normal', i % 4 ? ['finance'] : [], i))));
      await Promise.all([...Array.from({ length: 30 }, (_, i) => gauges.remove(`s${i}`)), gauges.remove('s3'), gauges.remove('never-there')]);
      const snap = await gauges.snapshot();
      expect(snap.bySlaClass.high).toEqual({ depth: 5, oldestCreatedAt: T0 - 39 * 60_000 });
      expect(snap.bySlaClass.normal).toEqual({ depth: 5, oldestCreatedAt: T0 - 38 * 60_000 });
      expect(snap.byRole.finance).toEqual({ depth: 8, oldestCreatedAt: T0 - 39 * 60_000 });
    });

    it('is rebuilt whole from the records of truth, and says when', async () => {
      const gauges = await make();
      await gauges.add(item('gone', 'critical', ['security'], 30));
      await gauges.rebuild([item('b1', 'normal', ['reviewer'], 2), item('b2', 'normal', [], 3)], new Date(T0));
      const snap = await gauges.snapshot();
      expect(snap.builtAt).toBe(T0);
      expect(snap.bySlaClass.normal).toEqual({ depth: 2, oldestCreatedAt: T0 - 3 * 60_000 });
      expect(snap.bySlaClass.critical?.depth ?? 0).toBe(0);
      expect(snap.byRole.security?.depth ?? 0).toBe(0);
      expect(snap.byRole.reviewer).toEqual({ depth: 1, oldestCreatedAt: T0 - 2 * 60_000 });
      // Rebuilt items are removed like any other.
      await gauges.remove('b2');
      expect((await gauges.snapshot()).bySlaClass.normal).toEqual({ depth: 1, oldestCreatedAt: T0 - 2 * 60_000 });
      await gauges.rebuild([], new Date(T0 + 1));
      expect(await gauges.snapshot()).toEqual({ bySlaClass: {}, byRole: {}, builtAt: T0 + 1 });
    });

    it('is rebuilt in one swap however many items it holds: a reader meanwhile sees the old gauges or the new, never half', async () => {
      const gauges = await make();
      await gauges.add(item('old', 'critical', ['security'], 30));
      const before = await gauges.snapshot();
      // More items than one step of a rebuild takes (2,000 in Redis).
      const many = Array.from({ length: 4_500 }, (_, i) => item(`m${i}`, i % 3 ? 'normal' : 'high', i % 2 ? ['reviewer'] : [], 1 + (i % 50)));
      const building = gauges.rebuild(many, new Date(T0 + 5));
      const during = await gauges.snapshot();
      await building;
      const after = await gauges.snapshot();
      expect(after).toEqual({
        bySlaClass: { normal: { depth: 3_000, oldestCreatedAt: T0 - 50 * 60_000 }, high: { depth: 1_500, oldestCreatedAt: T0 - 50 * 60_000 } },
        byRole: { reviewer: { depth: 2_250, oldestCreatedAt: T0 - 50 * 60_000 } },
        builtAt: T0 + 5,
      });
      expect([before, after]).toContainEqual(during);
      // The rebuilt gauges are kept like any others.
      await gauges.remove('m0');
      expect((await gauges.snapshot()).bySlaClass.high?.depth).toBe(1_499);
    });

    it("keeps, per window length, the oldest item of that window: an item's age is a share of its own window", async () => {
      const gauges = await make();
      const windowed = (id: string, minutesAgo: number, windowSeconds: number) => ({ ...item(id, 'high', ['finance'], minutesAgo), windowSeconds });
      await gauges.add(windowed('w1', 9, 3600));
      await gauges.add(windowed('w2', 5, 600));
      await gauges.add(windowed('w3', 7, 600));
      await gauges.add(item('plain', 'high', ['finance'], 20));
      const snap = await gauges.snapshot();
      // Kept to six significant bits, rounded down (windowOf): 3600 s counts as 3584, 600 as 592.
      expect(snap.byWindow).toEqual({ '3584': { depth: 1, oldestCreatedAt: T0 - 9 * 60_000 }, '592': { depth: 2, oldestCreatedAt: T0 - 7 * 60_000 } });
      expect(snap.bySlaClass.high).toEqual({ depth: 4, oldestCreatedAt: T0 - 20 * 60_000 });
      await gauges.remove('w3');
      expect((await gauges.snapshot()).byWindow?.['592']).toEqual({ depth: 1, oldestCreatedAt: T0 - 5 * 60_000 });
      await gauges.remove('w1');
      expect((await gauges.snapshot()).byWindow).toEqual({ '592': { depth: 1, oldestCreatedAt: T0 - 5 * 60_000 } });
      // A rebuild keeps each item's window.
      await gauges.rebuild([windowed('r1', 3, 900.4), item('r2', 'normal', [], 1)], new Date(T0));
      expect((await gauges.snapshot()).byWindow).toEqual({ '896': { depth: 1, oldestCreatedAt: T0 - 3 * 60_000 } });
    });

    it('keeps a bounded number of windows however varied the due times, and never reads an item as less far into its window than it is (bench:review, 2026-12-06)', async () => {
      const gauges = await make();
      // 3,000 items, each with a window of its own: one an hour long plus i seconds, queued i seconds ago.
      const items = Array.from({ length: 3_000 }, (_, i) => ({ ...item(`v${i}`, 'high', ['finance'], i / 60), windowSeconds: 3600 + i }));
      await Promise.all(items.slice(0, 1_000).map((i) => gauges.add(i)));
      await gauges.rebuild(items, new Date(T0));
      const snap = await gauges.snapshot();
      // 3600..6599 s spans less than one doubling: at most 32 lengths, each the floor of the windows it counts.
      const windows = Object.keys(snap.byWindow ?? {}).map(Number);
      expect(windows.length).toBeGreaterThan(1);
      expect(windows.length).toBeLessThanOrEqual(32);
      expect(Object.values(snap.byWindow ?? {}).reduce((n, g) => n + g.depth, 0)).toBe(3_000);
      const trueShare = Math.max(...items.map((i) => (T0 - i.createdAt) / 1000 / i.windowSeconds));
      const read = Math.max(...windows.map((w) => (T0 - snap.byWindow![String(w)].oldestCreatedAt!) / 1000 / w));
      expect(read).toBeGreaterThanOrEqual(trueShare);
      expect(read).toBeLessThanOrEqual(trueShare * (1 + 1 / 32));
      // Emptied windows are gone from the snapshot.
      await Promise.all(items.map((i) => gauges.remove(i.actionId)));
      expect((await gauges.snapshot()).byWindow).toBeUndefined();
    });

    it('counts the reviewers on shift per role until their heartbeat expires', async () => {
      const gauges = await make();
      const now = new Date(Date.now());
      await gauges.heartbeat('alice', ['reviewer', 'finance'], 60_000, now);
      await gauges.heartbeat('bob', ['reviewer'], 60_000, now);
      await gauges.heartbeat('bob', ['reviewer', 'security'], 60_000, now);
      expect(await gauges.onShift(now)).toEqual({ reviewer: 2, finance: 1, security: 1 });
      await gauges.heartbeat('carol', ['finance'], 1_000, now);
      expect((await gauges.onShift(new Date(now.getTime() + 500))).finance).toBe(2);
      expect(await gauges.onShift(new Date(now.getTime() + 2_000))).toEqual({ reviewer: 2, finance: 1, security: 1 });
      expect(await gauges.onShift(new Date(now.getTime() + 61_000))).toEqual({});
    });
  });
}
