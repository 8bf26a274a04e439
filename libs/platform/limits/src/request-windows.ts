/**
 * Requests counted per key (a source address, a sign-in) in fixed windows: `limit` per `windowMs`, then refused until
 * the window is over. At most `maxTracked` keys: the window started longest ago goes first.
 */
export class RequestWindows {
  private readonly windows = new Map<string, { since: number; count: number }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxTracked: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts a request for `key`: undefined when allowed, else how many ms until its window is over. */
  take(key: string): number | undefined {
    const t = this.now();
    let w = this.windows.get(key);
    if (!w || t - w.since >= this.windowMs) {
      w = { since: t, count: 0 };
      this.windows.delete(key); // re-inserted last: the map's order is the order windows started
      this.windows.set(key, w);
      while (this.windows.size > this.maxTracked) this.windows.delete(this.windows.keys().next().value!);
    }
    w.count++;
    return w.count > this.limit ? w.since + this.windowMs - t : undefined;
  }

  get tracked(): number {
    return this.windows.size;
  }
}
