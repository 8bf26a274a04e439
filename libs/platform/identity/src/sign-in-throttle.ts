// How often the local identity provider lets anyone try a password or a one-time code, and which codes were used.

/** Wrong answers allowed per user in a window, and how long that window (and so a lock) lasts. */
export interface SignInThrottleSettings {
  /** Wrong passwords per user name in `windowMs` before the name is refused until the window passes (default 10). */
  maxPasswordFailures: number;
  /** Wrong one-time codes per user in `windowMs` before codes are refused until the window passes (default 5). */
  maxCodeFailures: number;
  /** Default 15 minutes. */
  windowMs: number;
  /** The most user names tracked at once (default 10,000): the oldest record goes first, so memory stays bounded. */
  maxTracked: number;
}

export const DEFAULT_SIGN_IN_THROTTLE: SignInThrottleSettings = { maxPasswordFailures: 10, maxCodeFailures: 5, windowMs: 15 * 60_000, maxTracked: 10_000 };

type Kind = 'password' | 'code';

/**
 * Brute force and replay, refused: a six-digit code has a million values and three are valid at any time, so without a
 * limit a password holder guesses the second factor within its ten-minute window; a code once seen would sign in again
 * within its 90 s. Failures are counted per user (not per sign-in: a new sign-in does not reset them), and the last
 * accepted code step per user is kept, so a code works once. In memory, as the provider's own state is.
 */
export class SignInThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly lastStep = new Map<string, number>();

  constructor(
    private readonly settings: SignInThrottleSettings = DEFAULT_SIGN_IN_THROTTLE,
    private readonly now: () => number = Date.now,
  ) {}

  /** When `user` may try `kind` again (ms since the epoch), or undefined when they may now. */
  lockedUntil(kind: Kind, user: string): number | undefined {
    const recent = this.recent(kind, user);
    const max = kind === 'password' ? this.settings.maxPasswordFailures : this.settings.maxCodeFailures;
    return recent.length >= max ? recent[recent.length - max] + this.settings.windowMs : undefined;
  }

  failed(kind: Kind, user: string): void {
    const key = `${kind}:${user}`;
    const recent = [...this.recent(kind, user), this.now()];
    this.failures.delete(key); // re-inserted last: the map's order is the eviction order
    this.failures.set(key, recent);
    while (this.failures.size > this.settings.maxTracked) this.failures.delete(this.failures.keys().next().value!);
  }

  /** Accepts the code of `step` for `user` once: false when that step (or a later one) was used already. */
  useStep(user: string, step: number): boolean {
    if (step <= (this.lastStep.get(user) ?? -Infinity)) return false;
    this.lastStep.set(user, step);
    this.failures.delete(`code:${user}`);
    return true;
  }

  /** A right password clears that name's password failures (codes keep theirs until a code is right). */
  passed(user: string): void {
    this.failures.delete(`password:${user}`);
  }

  private recent(kind: Kind, user: string): number[] {
    const since = this.now() - this.settings.windowMs;
    return (this.failures.get(`${kind}:${user}`) ?? []).filter((t) => t > since);
  }
}
