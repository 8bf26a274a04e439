/**
 * At most `max` of something under way at once per key (a principal, a reviewer): `take` gives one slot and its release,
 * or undefined when the key holds `max` already. A release gives its slot back once; a second call does nothing. In
 * process, as the token buckets: the keys kept are those holding a slot. Used for reads in flight (ADR 0048), the audit
 * queries in flight, and a reviewer's live streams.
 */
export class KeyedSlots {
  private readonly held = new Map<string, number>();

  constructor(readonly max: number) {
    if (!(max >= 1)) throw new Error(`slots need max ≥ 1 (got ${max})`);
  }

  take(key: string): (() => void) | undefined {
    const n = this.held.get(key) ?? 0;
    if (n >= this.max) return undefined;
    this.held.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(key) ?? 1) - 1;
      if (left > 0) this.held.set(key, left);
      else this.held.delete(key);
    };
  }

  /** The slots `key` holds now. */
  holding(key: string): number {
    return this.held.get(key) ?? 0;
  }
}
