import { RequestWindows, sourceOf } from '@countersign/limits';

/**
 * How many sign-ins may be started: each start keeps a pending sign-in (its PKCE verifier, state, nonce, the address to
 * return to) for ten minutes before anyone has authenticated, so starts without a limit would fill the session store
 * (Redis, or this process's memory when embedded). `limit` a minute per source address (`sourceOf`; default 30: a
 * person starts one or two), and `inAll` a minute from every address together (default 600), which bounds what is kept
 * (6,000 pending sign-ins) whatever number of addresses a flood comes from: one rotating through 127.0.0.0/8 passed the
 * count per address and took the embedded process from 415 MB to 3.9 GB (red team, 2026-12-06). Past a limit a start
 * answers 429 until the minute is over. At most `maxTracked` addresses are tracked (the oldest go first).
 */
export class SignInStarts {
  private readonly perAddress: RequestWindows;
  private readonly inAll: RequestWindows;

  constructor(limit = 30, maxTracked = 10_000, now: () => number = Date.now, inAll = 600) {
    this.perAddress = new RequestWindows(limit, 60_000, maxTracked, now);
    this.inAll = new RequestWindows(inAll, 60_000, 1, now);
  }

  /** Counts a start from `address`: undefined when it may start, otherwise why not. */
  refusal(address: string): string | undefined {
    if (this.perAddress.take(sourceOf(address)) !== undefined) return 'too many sign-ins started from this address: try again in a minute';
    if (this.inAll.take('*') !== undefined) return 'too many sign-ins are being started right now: try again in a minute';
    return undefined;
  }
}
