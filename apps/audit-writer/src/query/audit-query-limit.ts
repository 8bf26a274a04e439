import { performance } from 'node:perf_hooks';
import type { ServerResponse } from 'node:http';
import { CanActivate, ExecutionContext, HttpException, Inject, Injectable, Optional, SetMetadata, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { KeyedSlots, TokenBuckets } from '@countersign/limits';
import type { AuthenticatedRequest } from '@countersign/nest';

/** One kind of audit query's limits per principal: `perMinute` on average, `burst` at once, `inFlight` at the same time. */
export interface AuditQueryRate {
  perMinute: number;
  burst: number;
  inFlight: number;
}

/**
 * `wholeLog`: what reads across the whole log (`proof`, `segment`); `search`: `entries`, which clients poll while
 * they wait for an entry (the end-to-end tests do, ten times a second), so its rate is higher.
 */
export interface AuditQueryLimits {
  wholeLog: AuditQueryRate;
  search: AuditQueryRate;
}

export type AuditQueryKind = keyof AuditQueryLimits;

/** The defaults (docs/adr/0005, addendum of 2026-12-05): far above an auditor's work, far below what stalls the service. */
export const DEFAULT_AUDIT_QUERY_LIMITS: AuditQueryLimits = {
  wholeLog: { perMinute: 30, burst: 10, inFlight: 2 },
  search: { perMinute: 600, burst: 100, inFlight: 2 },
};

/** DI token: other limits than the defaults (tests). Absent: the defaults. */
export const AUDIT_QUERY_LIMITS = Symbol('AuditQueryLimits');

const KIND = 'countersign:audit-query-kind';

/** Marks a route as an audit query of this kind: `AuditQueryGuard` holds it to that kind's limits. */
export const AuditQuery = (kind: AuditQueryKind) => SetMetadata(KIND, kind);

/** Whole seconds to wait, or a request in flight to give back when it ends. */
export type Admission = { retryAfter: number; why: 'rate' | 'in-flight' } | { release: () => void };

/**
 * A token bucket (the platform's `TokenBuckets`, as ADR 0048's) and an in-flight count per principal and kind of query,
 * in process: nothing to be down, so nothing to fail closed on. The principals are the tokens file's, so the buckets
 * kept are at most those × 2.
 */
export class AuditQueryLimit {
  private readonly buckets: Record<AuditQueryKind, TokenBuckets>;
  private readonly running: Record<AuditQueryKind, KeyedSlots>;

  constructor(
    readonly limits: AuditQueryLimits = DEFAULT_AUDIT_QUERY_LIMITS,
    /** Milliseconds on a clock that only moves forward. */
    now: () => number = () => performance.now(),
  ) {
    for (const [kind, r] of Object.entries(limits) as Array<[string, AuditQueryRate]>)
      if (!(r.perMinute > 0 && r.burst >= 1 && r.inFlight >= 1))
        throw new Error(`audit query limits (${kind}) need perMinute > 0, burst ≥ 1 and inFlight ≥ 1 (got ${r.perMinute}, ${r.burst}, ${r.inFlight})`);
    const bucketsOf = (r: AuditQueryRate) => new TokenBuckets({ perSecond: r.perMinute / 60, burst: r.burst }, now);
    this.buckets = { wholeLog: bucketsOf(limits.wholeLog), search: bucketsOf(limits.search) };
    this.running = { wholeLog: new KeyedSlots(limits.wholeLog.inFlight), search: new KeyedSlots(limits.search.inFlight) };
  }

  /** Admits one query of `kind` from `principal`: refused past the in-flight count first (it costs no token), then past the rate. */
  admit(principal: string, kind: AuditQueryKind): Admission {
    if (this.running[kind].holding(principal) >= this.limits[kind].inFlight) return { retryAfter: 1, why: 'in-flight' };
    const retryAfter = this.buckets[kind].take(principal);
    if (retryAfter !== undefined) return { retryAfter, why: 'rate' };
    // Free a moment ago, and nothing in between yields: the slot is there.
    return { release: this.running[kind].take(principal)! };
  }
}

/**
 * The expensive audit routes past their principal's limits: 429 with `Retry-After` (the platform's rejection filter
 * sets it from `retryAfter`). After the authentication guard, so only authenticated principals are counted; a query
 * holds its place until its answer is sent or its connection closes.
 */
@Injectable()
export class AuditQueryGuard implements CanActivate {
  private readonly limit: AuditQueryLimit;

  constructor(
    private readonly reflector: Reflector,
    @Optional() @Inject(AUDIT_QUERY_LIMITS) limits?: AuditQueryLimits | AuditQueryLimit,
  ) {
    this.limit = limits instanceof AuditQueryLimit ? limits : new AuditQueryLimit(limits);
  }

  canActivate(context: ExecutionContext): boolean {
    const kind = this.reflector.get<AuditQueryKind | undefined>(KIND, context.getHandler());
    if (!kind) return true;
    const http = context.switchToHttp();
    const principal = http.getRequest<AuthenticatedRequest>().principal;
    if (!principal) throw new UnauthorizedException('missing bearer token');
    const admitted = this.limit.admit(principal.id, kind);
    if ('release' in admitted) {
      // 'close' comes once the answer is sent, or when the caller hangs up first.
      http.getResponse<ServerResponse>().once('close', admitted.release);
      return true;
    }
    const rate = this.limit.limits[kind];
    const what = kind === 'wholeLog' ? 'whole-log audit queries (proofs, segments)' : 'audit searches';
    const message =
      admitted.why === 'in-flight'
        ? `principal ${principal.id} has ${rate.inFlight} ${what} running already (at most ${rate.inFlight} at once): retry after one ends`
        : `principal ${principal.id} sends ${what} faster than its rate (${rate.perMinute} a minute, ${rate.burst} at once): retry after ${admitted.retryAfter} s`;
    throw new HttpException({ statusCode: 429, message, retryAfter: admitted.retryAfter }, 429);
  }
}
