import { LeaderLease } from './leader-lease';

/** The lease in the process: the embedded mode has one instance, tests have several controllers on one lease. */
export class InMemoryLeaderLease implements LeaderLease {
  private held?: { holder: string; until: number };

  constructor(private readonly now: () => number = Date.now) {}

  async acquire(holder: string, ttlMs: number): Promise<boolean> {
    const now = this.now();
    if (this.held && this.held.until > now && this.held.holder !== holder) return false;
    this.held = { holder, until: now + ttlMs };
    return true;
  }

  async release(holder: string): Promise<void> {
    if (this.held?.holder === holder) this.held = undefined;
  }

  async holder(): Promise<string | undefined> {
    return this.held && this.held.until > this.now() ? this.held.holder : undefined;
  }
}

/** The degradation controller's lease of an embedded review queue (or a test). */
export const createInMemoryLeaderLease = (): LeaderLease => new InMemoryLeaderLease();
