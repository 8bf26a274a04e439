import { CanActivate, ExecutionContext, HttpException, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { KeyedSlots, ReadLimits, TokenBuckets } from '@countersign/limits';
import { AuthenticatedRequest, routeAuthentication } from './auth';

/** DI token of the process's `ReadRateLimit`. */
export const READ_RATE = Symbol('ReadRate');

/**
 * The read limits of one process: a token bucket per principal (`TokenBuckets`), and the reads each principal has under
 * way. In process, as the proposals door's (ADR 0048): nothing to be down, so nothing to fail closed on; the principals
 * kept are the tokens file's.
 */
export class ReadRateLimit extends TokenBuckets {
  private readonly running: KeyedSlots;

  constructor(readonly limits: ReadLimits) {
    super(limits);
    this.running = new KeyedSlots(limits.inFlight);
  }

  /**
   * Admits one read of `who` until `res` closes (the answer sent, or the caller gone), or throws 429 with `Retry-After`:
   * past the rate, or with `inFlight` of its reads under way. A read that only waits (`holdsSlot` false: a long poll, a
   * live stream) counts against the rate alone. In flight first: a read refused for that takes no token from the rate.
   */
  admit(who: string, res: { on(event: 'close', listener: () => void): void }, holdsSlot = true): void {
    const { perSecond, burst, inFlight } = this.limits;
    // One more read under way, and the function that ends it; undefined when `who` has `inFlight` already.
    const end = holdsSlot ? this.running.take(who) : undefined;
    if (holdsSlot && !end)
      throw new HttpException(
        { statusCode: 429, message: `principal ${who} has ${inFlight} reads under way, the most it may at once: retry after 1 s`, retryAfter: 1 },
        429,
      );
    const retryAfter = this.take(who);
    if (retryAfter !== undefined) {
      end?.();
      throw new HttpException(
        {
          statusCode: 429,
          message: `principal ${who} reads faster than its rate (${perSecond} a second, ${burst} at once): retry after ${retryAfter} s`,
          retryAfter,
        },
        429,
      );
    }
    if (end) res.on('close', end);
  }
}

const LONG_POLL = 'countersign:long-poll-query';

/**
 * Marks a route whose read waits when its query names `param` (`GET /v1/actions/{id}?waitFor=…`): such a read holds
 * no worker, only a connection, so it is not one of its principal's reads in flight. It still counts against the rate.
 */
export const LongPollWhen = (param: string) => SetMetadata(LONG_POLL, param);

/**
 * A read past its principal's limits: 429 with `Retry-After`, before the handler runs (and so before any query). Past
 * the rate (`perSecond`, `burst`), or with `inFlight` of its reads already under way: then another principal's read waits
 * behind at most that many of this one's, however many it sends at once.
 *
 * A global guard after the authentication guard: it counts the principals that guard named (bearer tokens), on the routes
 * that declare roles. A route without roles (`/healthz`, `/readyz`) is no one's read, and a caller the authentication
 * guard refused never gets here. The inbox's pages, signed in by a session, are counted by the inbox (`SessionReads` in
 * apps/review-queue), once it has read the session. Writes have their own limits (the proposals door, reveals, the audit
 * queries).
 */
@Injectable()
export class ReadRateGuard implements CanActivate {
  constructor(
    @Inject(READ_RATE) private readonly limit: ReadRateLimit,
    private readonly reflector: Reflector,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest & { method?: string; query?: Record<string, unknown> }>();
    if (!req.principal || (req.method !== 'GET' && req.method !== 'HEAD')) return true;
    // A route signed in by a session counts its reads itself (the inbox's guard names the person before the route runs).
    if (routeAuthentication(context.getHandler(), context.getClass()) !== 'bearer') return true;
    const longPollParam = this.reflector.get<string | undefined>(LONG_POLL, context.getHandler());
    const waits = longPollParam !== undefined && req.query?.[longPollParam] !== undefined;
    this.limit.admit(req.principal.id, context.switchToHttp().getResponse(), !waits);
    return true;
  }
}
