/**
 * How many sign-ins one source address may start: each start keeps a pending sign-in (its PKCE verifier, state, nonce)
 * for ten minutes before anyone has authenticated, so starts without a limit would fill the session store (Redis, or
 * this process's memory when embedded). `limit` a minute per address (default 30: a person starts one or two); past it
 * a start answers 429 until the minute is over. At most `maxTracked` addresses are tracked (the oldest go first).
 */
export class SignInStarts {
  private readonly windows = new Map<string, { since: number; count: number }>();

  constructor(
    private readonly limit = 30,
    private readonly maxTracked = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts a start from `address`; false when it is over the limit (nothing is kept for it then). */
  allow(address: string): boolean {
    const now = this.now();
    const held = this.windows.get(address);
    const window = held && now - held.since < 60_000 ? held : { since: now, count: 0 };
    window.count++;
    this.windows.delete(address); // re-inserted last: the map's order is the eviction order
    this.windows.set(address, window);
    while (this.windows.size > this.maxTracked) this.windows.delete(this.windows.keys().next().value!);
    return window.count <= this.limit;
  }
}
