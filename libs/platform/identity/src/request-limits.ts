// How often one source address (and one sign-in) may ask the identity provider for work, and how many password checks
// run at once.

/** The limits of `startIdentityProvider` (`limits`), per `windowMs`. */
export interface IdentityLimits {
  /** Authorizations started (`/auth`) per source address (default 30, as the review queue's own sign-in starts). */
  authorizationsPerAddress: number;
  /**
   * Authorizations started from all addresses together (default 300): each stores an interaction for ten minutes, so
   * this bounds them (3,000) below the storage's cap, whatever number of addresses a flood comes from.
   */
  authorizationsInAll: number;
  /**
   * Password and one-time-code posts per source address (default 30): a sign-in takes one or two, and several people
   * may share an address (an office, the embedded host's loopback).
   */
  signInPostsPerAddress: number;
  /** Password and one-time-code posts per sign-in (interaction) (default 10). */
  signInPostsPerInteraction: number;
  /**
   * Requests of any kind per source address (default 600: a sign-in takes about eight, and the review queue's own
   * token exchanges and key fetches come from its address): the token, user info, sign-out, discovery and key endpoints
   * have no other limit, and each answer is work.
   */
  requestsPerAddress: number;
  /** Requests of any kind from all addresses together (default 6,000). */
  requestsInAll: number;
  /** Default one minute. */
  windowMs: number;
  /** The most addresses (and sign-ins) tracked per limit (default 10,000): the oldest go first, so memory stays bounded. */
  maxTracked: number;
  /**
   * Password checks (scrypt, on libuv's thread pool) at once (default 2): the pool has 4 threads by default, shared with
   * file and DNS work of the whole process (the embedded mode runs every service in it), and each check takes 16 MB.
   */
  hashConcurrency: number;
  /** Password checks waiting beyond those (default 16); past it a sign-in is answered 503 at once. */
  hashQueue: number;
  /** Connections one address may hold open at once (default 512, as every service's `serve()`); past it one is closed unread. */
  connectionsPerAddress: number;
}

export const DEFAULT_IDENTITY_LIMITS: IdentityLimits = {
  authorizationsPerAddress: 30,
  authorizationsInAll: 300,
  signInPostsPerAddress: 30,
  signInPostsPerInteraction: 10,
  requestsPerAddress: 600,
  requestsInAll: 6_000,
  windowMs: 60_000,
  maxTracked: 10_000,
  hashConcurrency: 2,
  hashQueue: 16,
  connectionsPerAddress: 512,
};

/**
 * At most `concurrency` tasks at once and `maxWaiting` waiting for a turn; beyond that a task is refused, not queued,
 * so a flood of sign-ins cannot pile up unbounded work (red team, H2).
 */
export class WorkQueue {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly concurrency: number,
    private readonly maxWaiting: number,
  ) {}

  /** Runs `task` in its turn; undefined (and `task` never runs) when the queue is full. */
  run<T>(task: () => Promise<T>): Promise<T> | undefined {
    if (this.running < this.concurrency) {
      this.running++;
      return this.start(task);
    }
    if (this.waiting.length >= this.maxWaiting) return undefined;
    // The slot is handed over by the task that ends (`running` unchanged).
    return new Promise<void>((turn) => this.waiting.push(turn)).then(() => this.start(task));
  }

  private async start<T>(task: () => Promise<T>): Promise<T> {
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
