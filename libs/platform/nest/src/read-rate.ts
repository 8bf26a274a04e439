import { CanActivate, ExecutionContext, HttpException, Inject, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { KeyedSlots, ReadLimits, TokenBuckets } from '@countersign/limits';
import type { AuthenticatedRequest } from './auth';

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

  /** One more read under way for `principal`, and the function that ends it; undefined when it has `inFlight` already. */
  start(principal: string): (() => void) | undefined {
    return this.running.take(principal);
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
 * guard refused never gets here. The inbox's pages, signed in by a session, are a person's clicks and the live stream's
 * news; they are not counted. Writes have their own limits (the proposals door, reveals, the audit queries).
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
    const who = req.principal.id;
    const { perSecond, burst, inFlight } = this.limit.limits;
    const longPollParam = this.reflector.get<string | undefined>(LONG_POLL, context.getHandler());
    const waits = longPollParam !== undefined && req.query?.[longPollParam] !== undefined;
    // In flight first: a read refused for that takes no token from the rate.
    const end = waits ? undefined : this.limit.start(who);
    if (!waits && !end)
      throw new HttpException(
        { statusCode: 429, message: `principal ${who} has ${inFlight} reads under way, the most it may at once: retry after 1 s`, retryAfter: 1 },
        429,
      );
    const retryAfter = this.limit.take(who);
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
    // Ended when the answer is sent, or when the caller goes away first.
    if (end) context.switchToHttp().getResponse<{ once(event: 'close', listener: () => void): void }>().once('close', end);
    return true;
  }
}
