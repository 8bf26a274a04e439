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
  /** Failures for names that are no user's: bounded (`maxTracked`), the oldest record going first. */
  private readonly failures = new Map<string, number[]>();
  /**
   * Failures for the provider's users, apart and never evicted (there are as many as users): 10,000 failures on made-up
   * names evicted a real user's lock, and the guessing of their password went on (sessions probe, 2026-12-06).
   */
  private readonly usersFailures = new Map<string, number[]>();
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

  /** A wrong answer for `user`; `known`: the name is one of the provider's users (its count is never evicted). */
  failed(kind: Kind, user: string, known = true): void {
    const key = `${kind}:${user}`;
    const recent = [...this.recent(kind, user), this.now()];
    if (known) {
      this.failures.delete(key);
      this.usersFailures.set(key, recent);
      return;
    }
    this.failures.delete(key); // re-inserted last: the map's order is the eviction order
    this.failures.set(key, recent);
    while (this.failures.size > this.settings.maxTracked) this.failures.delete(this.failures.keys().next().value!);
  }

  /** Accepts the code of `step` for `user` once: false when that step (or a later one) was used already. */
  useStep(user: string, step: number): boolean {
    if (step <= (this.lastStep.get(user) ?? -Infinity)) return false;
    this.lastStep.set(user, step);
    this.forget(`code:${user}`);
    return true;
  }

  /** A right password clears that name's password failures (codes keep theirs until a code is right). */
  passed(user: string): void {
    this.forget(`password:${user}`);
  }

  private forget(key: string): void {
    this.failures.delete(key);
    this.usersFailures.delete(key);
  }

  private recent(kind: Kind, user: string): number[] {
    const since = this.now() - this.settings.windowMs;
    const key = `${kind}:${user}`;
    return [...(this.usersFailures.get(key) ?? []), ...(this.failures.get(key) ?? [])].filter((t) => t > since);
  }
}
