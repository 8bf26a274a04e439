import { createHash } from 'node:crypto';
import { limitKey, subjectKey } from './canonical';
import { readPath } from './conditions';
import type { LoadedContract } from './contract';
import type { CompiledContract, ProposalInput } from './evaluate';
import { moneyReader } from './money';

/**
 * Counts hits over a sliding window: a hit at `now` is judged by the distinct hits of its key and window length
 * in `(now - windowMs, now]`, itself included (fixed clock windows let twice the cap through across a boundary).
 * Entries stamped later than `now` still count: instances' clocks differ slightly. A hit carries an id (the
 * action id): the same id hit again, as a redelivered proposal does, is not counted twice and gets the answer it
 * got the first time, for as long as its entry is in the window (windowMs after the first hit), so a redelivery
 * cannot turn an autonomous decision into a review one. Refused hits count too: a flood keeps the limit
 * exhausted instead of earning a new allowance as its oldest hits age out. The in-process limiter
 * (in-memory-rate-limiter.ts) serves tests; Redis serves several instances; PostgreSQL the embedded mode.
 */
export interface RateLimiter {
  hit(key: string, hitId: string, limit: number, windowMs: number, now: Date): Promise<{ allowed: boolean; remaining: number }>;
  /**
   * Adds one action and its amount to the count and sum of the distinct actions in `(now - windowMs, now]`, and
   * answers both as they stood once it was added. The same id added again (a redelivery) is not added twice and
   * gets its first answer.
   */
  add(key: string, hitId: string, amount: number, windowMs: number, now: Date): Promise<AggregateTotals>;
}

/**
 * How far past a log's newest entry a limiter believes its `now` when it prunes: entries leave only once they are
 * windowMs older than `min(now, newest + PRUNE_SKEW_MS)` (for a sweep of quiet logs, `SweepClock`). A
 * clock that jumped ahead and came back had erased the windows (clock probe, 2026-12-05); the count still reads
 * `now`. Wider than instances' clocks differ; a log quiet for longer keeps its stale entries (uncounted) one call more.
 */
export const PRUNE_SKEW_MS = 5 * 60_000;

/**
 * The time up to which a sweep of quiet logs (every key at once) may believe the wall clock. It keeps an anchor that moves
 * only as the monotonic clock does (never past the wall clock), seen first at the limiter's first call, and sweeps no
 * further than PRUNE_SKEW_MS past it: hits made while the clock jumped ahead do not let a sweep erase the windows of every
 * key not hit meanwhile (red team, 2026-12-05: bounded by the newest entry of all keys, one hit during a jump did; a skew
 * carried from sweep to sweep crept five minutes a sweep). A process started while the clock is ahead anchors there: it
 * cannot know (the Redis limiter has no sweep).
 */
export class SweepClock {
  private anchor?: { wall: number; mono: number };

  constructor(private readonly monotonic: () => number = () => performance.now()) {}

  /** Anchors the clock at the limiter's first call (later calls change nothing). */
  see(now: number): void {
    this.anchor ??= { wall: now, mono: this.monotonic() };
  }

  /** The time to sweep up to at wall time `now` (whole ms, as the limiters store times). */
  bound(now: number): number {
    const mono = this.monotonic();
    const wall = this.anchor ? Math.min(now, this.anchor.wall + (mono - this.anchor.mono)) : now;
    this.anchor = { wall, mono };
    return Math.floor(Math.min(now, wall + PRUNE_SKEW_MS));
  }
}

/** A window's count of distinct actions and their summed amount (reference currency). */
export interface AggregateTotals {
  count: number;
  sum: number;
}

/** What a hit answers when it was the `rank`-th distinct hit of its window (itself included). */
export function verdict(rank: number, limit: number): { allowed: boolean; remaining: number } {
  return { allowed: rank <= limit, remaining: Math.max(0, limit - rank) };
}

/** The ids of the contract's rate limits this proposal exceeds (each action counts once), for `evaluate`'s inputs. */
export async function checkRateLimits(
  contract: LoadedContract,
  p: ProposalInput,
  actor: string,
  actionId: string,
  limiter: RateLimiter,
  now: Date,
): Promise<string[]> {
  // Every limit at once (each its own key): one round trip to a pipelining store, not one per limit.
  const limits = (contract.rateLimits ?? []).filter((limit) => limit.actionTypes.includes(p.actionType));
  const hits = await Promise.all(
    limits.map((limit) => {
      // Counted under the canonical spelling without separators (canonical.ts `limitKey`): `ACME`, `acme\u00a0` and
      // `a.c.m.e` share `acme`'s budget.
      const who = limit.per === 'tenant' ? `tenant:${limitKey(String(p.tenant))}` : `actor:${actor}`;
      return limiter.hit(`ratelimit:${limit.id}:${who}`, actionId, limit.limit, limit.windowSeconds * 1000, now);
    }),
  );
  return limits.filter((_, i) => !hits[i].allowed).map((limit) => limit.id);
}

/**
 * The customer an aggregate limit's `per` parameter names in `parameters` (a non-empty string or a finite number, as
 * text), or undefined when the limit counts per target or the proposal names none. The one reading of it: the count,
 * the decision's reason and `whenMissing` agree on whether a proposal named its customer (an empty customerId had
 * shared one budget with every other empty one, while `whenMissing` called it missing).
 */
export function namedSubject(per: string, parameters: unknown): string | undefined {
  if (per === 'target') return undefined;
  const named = readPath({ parameters }, per.split('.'));
  if (typeof named === 'string') return named.trim() === '' ? undefined : named;
  return typeof named === 'number' && Number.isFinite(named) ? String(named) : undefined;
}

/**
 * Who an aggregate limit counts under, within the proposal's tenant (one tenant's refunds to its `customer-42` never
 * use up another tenant's allowance for its own `customer-42`): the target, or the customer parameter the limit names
 * (a proposal without one counts under its target), in canonical spelling without separators, and a word and a number
 * by its number (canonical.ts `subjectKey`: `ORDER-500`, `order‐500 `, `order_500`, `ord.500` and `#500` are one order). Hashed: a target may be an e-mail address, and Redis keeps no regulated data.
 */
function aggregateSubject(per: string, p: ProposalInput): string {
  const named = namedSubject(per, p.parameters);
  const who = named !== undefined ? `customer:${subjectKey(named)}` : `target:${subjectKey(String(p.target))}`;
  return createHash('sha256')
    .update(`tenant:${limitKey(String(p.tenant))}\n${who}`)
    .digest('base64url')
    .slice(0, 32);
}

/**
 * The ids of the contract's aggregate limits this proposal exceeds (count or summed amount in the reference
 * currency per target or customer over a window), for `evaluate`'s inputs. Each action counts once, keyed by
 * its id; an amount that cannot be converted adds nothing to the sum (evaluate sends it to review or worse).
 */
export async function checkAggregateLimits(compiled: CompiledContract, p: ProposalInput, actionId: string, limiter: RateLimiter, now: Date): Promise<string[]> {
  const { contract } = compiled;
  const limits = (contract.aggregateLimits ?? []).filter((limit) => limit.actionTypes.includes(p.actionType));
  // Every limit at once (each its own key), as the rate limits.
  const totals = await Promise.all(
    limits.map((limit) => {
      let amount = 0;
      const field = limit.amount ? compiled.actions.get(p.actionType)?.money.find((m) => m.amount === limit.amount) : undefined;
      if (field) {
        try {
          amount = Math.max(0, Number(moneyReader(field, contract.money)({ parameters: p.parameters }) ?? 0)) || 0;
        } catch {
          amount = 0;
        }
      }
      return limiter.add(`aggregate:${limit.id}:${aggregateSubject(limit.per, p)}`, actionId, amount, limit.windowSeconds * 1000, now);
    }),
  );
  return limits
    .filter(
      (limit, i) => (limit.maxCount !== undefined && totals[i].count > limit.maxCount) || (limit.maxAmount !== undefined && totals[i].sum > limit.maxAmount),
    )
    .map((limit) => limit.id);
}
