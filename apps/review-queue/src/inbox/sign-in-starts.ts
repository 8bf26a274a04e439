import { RequestWindows } from '@countersign/limits';

/**
 * How many sign-ins one source address may start: each start keeps a pending sign-in (its PKCE verifier, state, nonce)
 * for ten minutes before anyone has authenticated, so starts without a limit would fill the session store (Redis, or
 * this process's memory when embedded). `limit` a minute per address (default 30: a person starts one or two); past it
 * a start answers 429 until the minute is over. At most `maxTracked` addresses are tracked (the oldest go first).
 */
export class SignInStarts {
  private readonly windows: RequestWindows;

  constructor(limit = 30, maxTracked = 10_000, now: () => number = Date.now) {
    this.windows = new RequestWindows(limit, 60_000, maxTracked, now);
  }

  /** Counts a start from `address`; false when it is over the limit. */
  allow(address: string): boolean {
    return this.windows.take(address) === undefined;
  }
}
