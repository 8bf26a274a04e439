import { sourceOf } from '@countersign/limits';

/**
 * How many rejections of unauthenticated requests are audited one by one (docs/adr/0034).
 *
 * Every refused request is audited, and the audit log is append-only: without a bound, anyone who can reach a port
 * grows it without limit (about 1 KB per bare 401, more with a long URL), with no token at all. So each source has a
 * budget (a token bucket: `burst` at once, `perSecond` after that), and all sources together have one more
 * (`globalPerWindow` per `windowMs`). Within both a rejection is audited as before. Beyond either, a rejection is
 * counted, and the counts are audited as summaries (`drain`), so the record still says how many, of which statuses,
 * since when and the last of them.
 *
 * A source is an IPv4 address, or an IPv6 /64 (`sourceOf`): one host may hold a whole /64, and with a budget per
 * address it had 2^64 of them (red team, 2026-12-04).
 *
 * Rejections of authenticated callers have a budget of their own per principal (`RejectionAudit`, `PRINCIPAL_REJECTION_BUDGET`):
 * one token refused hundreds of times a second wrote as many entries (red team, 2026-12-05).
 * The sources kept are bounded (`maxSources`): beyond that, new sources share one budget, `*`.
 */
export interface RejectionBudgetOptions {
  burst: number;
  perSecond: number;
  maxSources: number;
  /** Rejections audited one by one across all sources in one window; beyond it every source's are counted. */
  globalPerWindow: number;
  windowMs: number;
  /** Summaries one `drain` gives at most: the busiest sources each get one, the rest share the last. */
  maxSummaries: number;
}

export const DEFAULT_REJECTION_BUDGET: RejectionBudgetOptions = {
  burst: 20,
  perSecond: 1,
  maxSources: 10_000,
  globalPerWindow: 100,
  windowMs: 10_000,
  maxSummaries: 10,
};

/**
 * The budget of authenticated callers' refusals, per principal: more room than an address gets (they are accountable,
 * and a client with a bug is refused often before anyone notices), still a bound on what one token can write.
 */
export const PRINCIPAL_REJECTION_BUDGET: RejectionBudgetOptions = {
  burst: 100,
  perSecond: 2,
  maxSources: 10_000,
  globalPerWindow: 200,
  windowMs: 10_000,
  maxSummaries: 10,
};

/** A rejection as the summary names the last one. */
export interface RejectionSeen {
  method: string;
  path: string;
  status: number;
  reason: string;
}

/** What one source (or `*`, several) had counted, not audited one by one, since `since`. */
export interface SuppressedRejections {
  source: string;
  /** How many budgets the summary sums: 1 for one source; for `*`, the sources it stands for (the shared budget counts once). */
  sources: number;
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
  /** Which rejection of all counted was its last (a running number: the clock may not move between two). */
  lastOrder: number;
  statuses: Record<string, number>;
  last?: RejectionSeen;
}

export class RejectionBudget {
  private readonly sources = new Map<string, SourceState>();
  private window = { start: -Infinity, used: 0 };
  private counted = 0;

  constructor(
    private readonly options: RejectionBudgetOptions = DEFAULT_REJECTION_BUDGET,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when this rejection from the address `from` is to be audited on its own; false when it is only counted. */
  take(from: string, seen: RejectionSeen): boolean {
    const t = this.now();
    const source = sourceOf(from);
    const key = this.sources.has(source) || this.sources.size < this.options.maxSources ? source : '*';
    let s = this.sources.get(key);
    if (!s) {
      s = { tokens: this.options.burst, at: t, suppressed: 0, since: t, lastOrder: 0, statuses: {} };
      this.sources.set(key, s);
    }
    s.tokens = this.refilled(s, t);
    s.at = t;
    if (t - this.window.start >= this.options.windowMs) this.window = { start: t, used: 0 };
    // Within its source's budget and the global one: audited. The source's token is spent only then.
    if (s.tokens >= 1 && this.window.used < this.options.globalPerWindow) {
      s.tokens -= 1;
      this.window.used++;
      return true;
    }
    if (s.suppressed === 0) s.since = t;
    s.suppressed++;
    s.statuses[seen.status] = (s.statuses[seen.status] ?? 0) + 1;
    s.last = seen;
    s.lastOrder = ++this.counted;
    return false;
  }

  /**
   * The counts since the last drain: one summary per source that had any, the busiest first; past `maxSummaries`, the
   * rest as one (`*`). Sources back at a full budget are forgotten.
   */
  drain(): SuppressedRejections[] {
    const t = this.now();
    const counted: Array<[string, SourceState]> = [];
    for (const [source, s] of this.sources) {
      if (s.suppressed > 0 && s.last) counted.push([source, s]);
      else if (this.refilled(s, t) >= this.options.burst) this.sources.delete(source);
    }
    // Many sources over their budget (a /48 holds 65,536 /64s) must not become as many summaries each interval.
    counted.sort(([a, x], [b, y]) => Number(a === '*') - Number(b === '*') || y.suppressed - x.suppressed);
    const named = counted.length > this.options.maxSummaries ? counted.slice(0, this.options.maxSummaries - 1) : counted;
    const out = named.map(([source, s]) => summaryOf(source, 1, [s]));
    const rest = counted.slice(named.length);
    if (rest.length)
      out.push(
        summaryOf(
          '*',
          rest.length,
          rest.map(([, s]) => s),
        ),
      );
    for (const [, s] of counted) {
      s.suppressed = 0;
      s.statuses = {};
      s.last = undefined;
    }
    return out;
  }

  private refilled(s: SourceState, t: number): number {
    return Math.min(this.options.burst, s.tokens + ((t - s.at) / 1000) * this.options.perSecond);
  }
}

/** One summary of the counts of `states`, the last rejection the latest of theirs. */
function summaryOf(source: string, sources: number, states: SourceState[]): SuppressedRejections {
  const statuses: Record<string, number> = {};
  for (const s of states) for (const [status, n] of Object.entries(s.statuses)) statuses[status] = (statuses[status] ?? 0) + n;
  const latest = states.reduce((a, b) => (b.lastOrder > a.lastOrder ? b : a));
  return {
    source,
    sources,
    count: states.reduce((n, s) => n + s.suppressed, 0),
    since: new Date(states.reduce((t, s) => Math.min(t, s.since), Infinity)),
    statuses,
    last: latest.last!,
  };
}
