/**
 * One summary shared by every load of the governance page while nothing it sums has changed (ADR 0018, addendum
 * 2026-12-07). Summing a month of decisions costs PostgreSQL about 0.3 s at the page's cap of 50,000; every lead's
 * load, and every reload, paid it again. The page shows every reviewer to every lead (a lead bound to tenants is
 * refused it), so one summary serves them all:
 * - loads that come while one is being summed wait for that one (one query, however many leads);
 * - a summary is kept `ttlMs` at most, and only while `generation()` is what it was when its query started: the
 *   decisions this process records and its purges change it, so a decision here shows on the next load. Another
 *   review-queue instance's decisions show within `ttlMs`;
 * - a failed query is not kept: the next load asks again.
 */
export class SummaryMemo<T> {
  private held?: { at: number; generation: number; value: Promise<T> };

  constructor(
    private readonly ttlMs: number,
    private readonly generation: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  get(load: () => Promise<T>): Promise<T> {
    const at = this.now();
    const generation = this.generation();
    const held = this.held;
    if (held && held.generation === generation && at - held.at < this.ttlMs) return held.value;
    const value = load();
    const kept = { at, generation, value };
    this.held = kept;
    value.catch(() => {
      if (this.held === kept) this.held = undefined;
    });
    return value;
  }
}
