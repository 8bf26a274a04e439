import { performance } from 'node:perf_hooks';
import { CanActivate, ExecutionContext, HttpException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { settings } from '@countersign/config';
import type { AuthenticatedRequest } from '@countersign/nest';
import { PROPOSAL_RATE } from '../tokens';

/** How fast one principal may propose over HTTP, on one orchestrator instance: `perSecond` on average, `burst` at once. */
export interface ProposalRate {
  perSecond: number;
  burst: number;
}

/**
 * The default: well above what one agent proposes in normal work (a person reviews a handful a minute), well below
 * what floods the review queue and the audit log (docs/adr/0048).
 */
export const DEFAULT_PROPOSAL_RATE: ProposalRate = { perSecond: 100, burst: 1_000 };

/**
 * A token bucket per principal (docs/adr/0048): `burst` proposals at once, then `perSecond`. In process, per
 * orchestrator instance: no dependency to be down, and so nothing to fail closed on. The principals are the tokens
 * file's entries, so the buckets kept are as many as those at most.
 */
export class ProposalRateLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly rate: ProposalRate,
    /** Milliseconds on a clock that only moves forward. */
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(rate.perSecond > 0) || !(rate.burst >= 1))
      throw new Error(`a proposal rate needs perSecond > 0 and burst ≥ 1 (got ${rate.perSecond}, ${rate.burst})`);
  }

  /** Takes one proposal from `principal`'s bucket: undefined when it may go on, or the whole seconds until one is back. */
  take(principal: string): number | undefined {
    const t = this.now();
    const b = this.buckets.get(principal);
    const tokens = b ? Math.min(this.rate.burst, b.tokens + ((t - b.at) / 1000) * this.rate.perSecond) : this.rate.burst;
    if (tokens >= 1) {
      this.buckets.set(principal, { tokens: tokens - 1, at: t });
      return undefined;
    }
    this.buckets.set(principal, { tokens, at: t });
    return Math.max(1, Math.ceil((1 - tokens) / this.rate.perSecond));
  }
}

/**
 * `POST /v1/proposals` past its principal's rate: 429 with `Retry-After`, before the body is read (guards run before
 * the body reader). After the authentication guard, so it counts authenticated principals only; an unauthenticated
 * caller never gets this far (401).
 */
@Injectable()
export class ProposalRateGuard implements CanActivate {
  constructor(@Inject(PROPOSAL_RATE) private readonly limit: ProposalRateLimit) {}

  canActivate(context: ExecutionContext): boolean {
    const principal = context.switchToHttp().getRequest<AuthenticatedRequest>().principal;
    // The authentication guard runs first and sets it; without one, nothing goes on.
    if (!principal) throw new UnauthorizedException('missing bearer token');
    const retryAfter = this.limit.take(principal.id);
    if (retryAfter === undefined) return true;
    const { perSecond, burst } = this.limit.rate;
    throw new HttpException(
      {
        statusCode: 429,
        message: `principal ${principal.id} proposes faster than its rate (${perSecond} a second, ${burst} at once): retry after ${retryAfter} s`,
        retryAfter,
      },
      429,
    );
  }
}

/** The settings of a main that serves `POST /v1/proposals` (the orchestrator's, the embedded mode's), validated at boot. */
export const proposalRateSettings = {
  /** How many proposals one principal may send over HTTP a second, on average, on one instance. */
  PROPOSALS_PER_SECOND: settings.number(DEFAULT_PROPOSAL_RATE.perSecond, { min: 0.001, max: 1_000_000 }),
  /** …and at once, after a quiet spell. */
  PROPOSAL_BURST: settings.number(DEFAULT_PROPOSAL_RATE.burst, { min: 1, max: 10_000_000, integer: true }),
};

/** The rate the settings above say. */
export const proposalRateOf = (config: { PROPOSALS_PER_SECOND: number; PROPOSAL_BURST: number }): ProposalRate => ({
  perSecond: config.PROPOSALS_PER_SECOND,
  burst: config.PROPOSAL_BURST,
});
