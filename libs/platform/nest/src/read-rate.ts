import { CanActivate, ExecutionContext, HttpException, Inject, Injectable } from '@nestjs/common';
import { TokenBuckets } from '@countersign/limits';
import type { AuthenticatedRequest } from './auth';

/** DI token of the process's `ReadRateLimit`. */
export const READ_RATE = Symbol('ReadRate');

/** A token bucket per principal for reads: `TokenBuckets` under the name the guard injects. */
export class ReadRateLimit extends TokenBuckets {}

/**
 * A read past its principal's rate: 429 with `Retry-After`, before the handler runs (and so before any query). A global
 * guard after the authentication guard: it counts the principals that guard named (bearer tokens), on the routes that
 * declare roles. A route without roles (`/healthz`, `/readyz`) is no one's read, and a caller the authentication guard
 * refused never gets here. The inbox's pages, signed in by a session, are a person's clicks and the live stream's
 * news; they are not counted. Writes have their own limits (the proposals door, reveals, the audit queries).
 */
@Injectable()
export class ReadRateGuard implements CanActivate {
  constructor(@Inject(READ_RATE) private readonly limit: ReadRateLimit) {}

  canActivate(context: ExecutionContext): boolean {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest & { method?: string }>();
    if (!req.principal || (req.method !== 'GET' && req.method !== 'HEAD')) return true;
    const retryAfter = this.limit.take(req.principal.id);
    if (retryAfter === undefined) return true;
    const { perSecond, burst } = this.limit.rate;
    throw new HttpException(
      {
        statusCode: 429,
        message: `principal ${req.principal.id} reads faster than its rate (${perSecond} a second, ${burst} at once): retry after ${retryAfter} s`,
        retryAfter,
      },
      429,
    );
  }
}
