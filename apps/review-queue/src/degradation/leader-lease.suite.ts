import { LeaderLease } from './leader-lease';

/** What every lease does: the Redis adapter and its in-memory twin both pass it (real seconds, short TTLs). */
export function leaderLeaseSuite(name: string, make: () => Promise<LeaderLease>) {
  describe(`LeaderLease shared suite: ${name}`, () => {
    it('has one holder at a time; the holder renews, the other waits', async () => {
      const lease = await make();
      expect(await lease.holder()).toBeUndefined();
      expect(await lease.acquire('rq-1', 5_000)).toBe(true);
      expect(await lease.acquire('rq-2', 5_000)).toBe(false);
      expect(await lease.acquire('rq-1', 5_000)).toBe(true);
      expect(await lease.holder()).toBe('rq-1');
    });

    it('passes to another once the holder releases it, and a release by another changes nothing', async () => {
      const lease = await make();
      await lease.acquire('rq-1', 5_000);
      await lease.release('rq-2');
      expect(await lease.holder()).toBe('rq-1');
      await lease.release('rq-1');
      expect(await lease.acquire('rq-2', 5_000)).toBe(true);
      expect(await lease.acquire('rq-1', 5_000)).toBe(false);
    });

    it('passes to another once the holder stops renewing it (it expires)', async () => {
      const lease = await make();
      expect(await lease.acquire('rq-1', 150)).toBe(true);
      await new Promise((r) => setTimeout(r, 400));
      expect(await lease.holder()).toBeUndefined();
      expect(await lease.acquire('rq-2', 5_000)).toBe(true);
      expect(await lease.acquire('rq-1', 5_000)).toBe(false);
    });
  });
}
