import type { FlagAdmin } from './flag-admin';

/**
 * The flag admin's contract: Unleash's admin API (`unleash-flag-admin.ts`), the embedded mode's flag file and the
 * in-memory twin all pass it. `make` returns an admin and a prefix unique to the run (a shared server holds other
 * runs' flags); `keepsHistory` is false for the flag file, which keeps no log.
 */
export function flagAdminSuite(name: string, make: () => Promise<{ admin: FlagAdmin; prefix: string }>, o: { keepsHistory: boolean }) {
  describe(`FlagAdmin shared suite: ${name}`, () => {
    it('reads what it wrote: a kill switch on or off, an autonomy level, and no flag as undefined', async () => {
      const { admin, prefix } = await make();
      expect(await admin.read(`${prefix}missing`, 'kill-switch')).toBeUndefined();
      await admin.write(`${prefix}exec`, 'kill-switch', 'on');
      expect(await admin.read(`${prefix}exec`, 'kill-switch')).toBe('on');
      await admin.write(`${prefix}exec`, 'kill-switch', 'off');
      expect(await admin.read(`${prefix}exec`, 'kill-switch')).toBe('off');
      for (const level of ['review-all', 'autonomous', 'review-risky', 'off'] as const) {
        await admin.write(`${prefix}autonomy`, 'autonomy', level);
        expect(await admin.read(`${prefix}autonomy`, 'autonomy')).toBe(level);
      }
    });

    it('reads changes from a cursor, of the flags wanted only; asked again from one cursor, it answers the same', async () => {
      const { admin, prefix } = await make();
      const wanted = (f: string) => f.startsWith(`${prefix}w.`);
      await admin.write(`${prefix}w.before`, 'kill-switch', 'on');
      const start = await admin.changesSince(undefined, wanted);
      expect(start.changes).toEqual([]);
      await admin.write(`${prefix}w.a`, 'kill-switch', 'on');
      await admin.write(`${prefix}other`, 'kill-switch', 'on');
      await admin.write(`${prefix}w.b`, 'autonomy', 'review-all');
      const read = await admin.changesSince(start.cursor, wanted);
      expect(read.complete).toBe(true);
      const flags = (changes: Array<{ flag: string }>) => [...new Set(changes.map((c) => c.flag))];
      expect(flags(read.changes)).toEqual([`${prefix}w.a`, `${prefix}w.b`]);
      const ids = read.changes.map((c) => c.id);
      expect(ids).toEqual([...ids].sort((a, b) => a - b)); // oldest first
      // A watcher that failed to act on them asks again from the same cursor: nothing it read is lost.
      expect(flags((await admin.changesSince(start.cursor, wanted)).changes)).toEqual([`${prefix}w.a`, `${prefix}w.b`]);
      expect((await admin.changesSince(read.cursor, wanted)).changes).toEqual([]);
      await admin.write(`${prefix}w.a`, 'kill-switch', 'off');
      expect(flags((await admin.changesSince(read.cursor, wanted)).changes)).toEqual([`${prefix}w.a`]);
    });

    it(
      o.keepsHistory ? "names a flag's latest changes, oldest first, at most as many as asked" : 'has no history to name (the flag file keeps no log)',
      async () => {
        const { admin, prefix } = await make();
        for (const value of ['on', 'off', 'on'] as const) await admin.write(`${prefix}h`, 'kill-switch', value);
        await admin.write(`${prefix}h2`, 'kill-switch', 'on');
        const all = await admin.history(`${prefix}h`, 100);
        if (!o.keepsHistory) {
          expect(all).toEqual([]);
          return;
        }
        expect(all.length).toBeGreaterThanOrEqual(3);
        expect(all.every((c) => c.flag === `${prefix}h`)).toBe(true);
        expect(all.map((c) => c.id)).toEqual([...all.map((c) => c.id)].sort((a, b) => a - b));
        const latest = await admin.history(`${prefix}h`, 2);
        expect(latest).toEqual(all.slice(-2));
        expect(await admin.history(`${prefix}never`, 5)).toEqual([]);
      },
    );
  });
}
