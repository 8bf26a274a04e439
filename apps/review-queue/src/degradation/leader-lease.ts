// The port of the degradation controller's leadership: one owner decides the mode, however many review-queue
// instances run. Adapters: `redis-leader-lease.ts` (distributed), `in-memory-leader-lease.ts` (embedded, tests).

/**
 * A lease with a time to live: the holder renews it before it runs out; an instance whose renewal fails (another
 * took it, or Redis is away) has lost it and stops deciding until it holds it again.
 */
export interface LeaderLease {
  /** Takes the lease if nobody holds it, or renews it if `holder` does; true while `holder` holds it for `ttlMs` more. */
  acquire(holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `holder` holds it (a stopping instance hands over at once). */
  release(holder: string): Promise<void>;
  /** Who holds it now, if anyone. */
  holder(): Promise<string | undefined>;
}
