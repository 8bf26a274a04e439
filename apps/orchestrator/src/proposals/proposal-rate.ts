import { CanActivate, ExecutionContext, HttpException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { TokenBuckets } from '@countersign/limits';
import type { AuthenticatedRequest } from '@countersign/nest';
import { PROPOSAL_RATE } from '../tokens';

/** A token bucket per principal (docs/adr/0048), per orchestrator instance: `TokenBuckets` under the name its guard injects. */
export class ProposalRateLimit extends TokenBuckets {}

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
    const retryAfter = this.limit.take(principal.id, proposalCost(context.switchToHttp().getRequest<AuthenticatedRequest>().headers['content-length']));
    if (retryAfter === undefined) return true;
    const { perSecond, burst } = this.limit.rate;
    throw new HttpException(
      {
        statusCode: 429,
        message: `principal ${principal.id} proposes faster than its rate (${perSecond} a second, ${burst} at once; a proposal counts one more per 8 KiB of body): retry after ${retryAfter} s`,
        retryAfter,
      },
      429,
    );
  }
}

/** What one proposal's body is charged in tokens: one, and one more per 8 KiB it may hold. */
export const PROPOSAL_COST_UNIT_BYTES = 8 * 1024;

/**
 * A proposal is charged by its size, from `Content-Length`, before its body is read: one token, and one per 8 KiB more.
 * A principal sending proposals of 49 KB at the rate of small ones took 60 ms of CPU each, saturated the embedded
 * process, and slowed every other caller to seconds (overload probe, 2026-12-06). Without a length (chunked), it is
 * charged as the largest body the door takes (64 KiB: 9 tokens).
 */
export function proposalCost(contentLength: string | string[] | undefined): number {
  const bytes = typeof contentLength === 'string' && /^\d{1,12}$/.test(contentLength) ? Number(contentLength) : 64 * 1024;
  return 1 + Math.floor(Math.min(bytes, 64 * 1024) / PROPOSAL_COST_UNIT_BYTES);
}
