/**
 * How many rejections of unauthenticated requests from one source address are audited one by one (docs/adr/0034).
 *
 * Every refused request is audited, and the audit log is append-only: without a bound, anyone who can reach a port
 * grows it without limit (about 1 KB per bare 401, more with a long URL), with no token at all. So each source
 * address has a budget (a token bucket: `burst` at once, `perSecond` after that). Within it a rejection is audited
 * as before. Beyond it, a rejection is counted, and the counts are audited as one summary per source and interval
 * (`drain`), so the record still says how many, of which statuses, since when and the last of them.
 *
 * Rejections of authenticated callers are not budgeted: they are accountable, and their token can be revoked.
 * The sources kept are bounded (`maxSources`): beyond that, new sources share one budget, `*`.
 */
export interface RejectionBudgetOptions {
  burst: number;
  perSecond: number;
  maxSources: number;
}

export const DEFAULT_REJECTION_BUDGET: RejectionBudgetOptions = { burst: 20, perSecond: 1, maxSources: 10_000 };

/** A rejection as the summary names the last one. */
export interface RejectionSeen {
  method: string;
  path: string;
  status: number;
  reason: string;
}

/** What one source had counted, not audited one by one, since `since`. */
export interface SuppressedRejections {
  source: string;
  count: number;
  since: Date;
  statuses: Record<string, number>;
  last: RejectionSeen;
}

interface SourceState {
  tokens: number;
  at: number;
  suppressed: number;
  since: number;
  statuses: Record<string, number>;
  last?: RejectionSeen;
}

export class RejectionBudget {
  private readonly sources = new Map<string, SourceState>();

  constructor(
    private readonly options: RejectionBudgetOptions = DEFAULT_REJECTION_BUDGET,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when this rejection from `source` is to be audited on its own; false when it is only counted. */
  take(source: string, seen: RejectionSeen): boolean {
    const t = this.now();
    const key = this.sources.has(source) || this.sources.size < this.options.maxSources ? source : '*';
    let s = this.sources.get(key);
    if (!s) {
      s = { tokens: this.options.burst, at: t, suppressed: 0, since: t, statuses: {} };
      this.sources.set(key, s);
    }
    s.tokens = this.refilled(s, t);
    s.at = t;
    if (s.tokens >= 1) {
      s.tokens -= 1;
      return true;
    }
    if (s.suppressed === 0) s.since = t;
    s.suppressed++;
    s.statuses[seen.status] = (s.statuses[seen.status] ?? 0) + 1;
    s.last = seen;
    return false;
  }

  /** The counts since the last drain, one per source that had any; sources back at a full budget are forgotten. */
  drain(): SuppressedRejections[] {
    const t = this.now();
    const out: SuppressedRejections[] = [];
    for (const [source, s] of this.sources) {
      if (s.suppressed > 0 && s.last) {
        out.push({ source, count: s.suppressed, since: new Date(s.since), statuses: s.statuses, last: s.last });
        s.suppressed = 0;
        s.statuses = {};
        s.last = undefined;
      } else if (this.refilled(s, t) >= this.options.burst) this.sources.delete(source);
    }
    return out;
  }

  private refilled(s: SourceState, t: number): number {
    return Math.min(this.options.burst, s.tokens + ((t - s.at) / 1000) * this.options.perSecond);
  }
}
