import { RequestWindows, sourceOf } from '@countersign/limits';

/**
 * How many sign-ins may be started from one source address (`sourceOf`): `limit` a minute (default 30: a person starts
 * one or two). Past it a start answers 429 until the minute is over. At most `maxTracked` addresses are tracked (the
 * oldest go first).
 *
 * There is no cap over all addresses together. A start keeps nothing on the server: the sign-in rides in its own sealed
 * cookie (`Sessions.remember`). When each start was kept for ten minutes, a flood rotating through 127.0.0.0/8 took the
 * embedded process from 415 MB to 3.9 GB (red team, 2026-12-06), and the cap over all addresses added then (600 a
 * minute) let anyone keep every reviewer from signing in with 10 starts a second (red team, 2026-12-08).
 */
export class SignInStarts {
  private readonly perAddress: RequestWindows;

  constructor(limit = 30, maxTracked = 10_000, now: () => number = Date.now) {
    this.perAddress = new RequestWindows(limit, 60_000, maxTracked, now);
  }

  /** Counts a start from `address`: undefined when it may start, otherwise why not. */
  refusal(address: string): string | undefined {
    if (this.perAddress.take(sourceOf(address)) !== undefined) return 'too many sign-ins started from this address: try again in a minute';
    return undefined;
  }
}
