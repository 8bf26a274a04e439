import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { readsBody, routeAuthentication } from '@countersign/nest';
import { HttpRequest, Sessions } from './sessions';

/**
 * Authenticates the inbox's requests that carry a body (a claim, a decision, a revision, a second verdict) before the
 * platform reads that body: without a signed-in session they are answered 401, whatever the body holds, and the body is
 * not read (libs/platform/nest `JsonBodyInterceptor`, which reads it only once a guard has set the principal; docs/adr/0008,
 * amended 2026-12-04). The session is looked at, not touched: the route decides whether the request restarts its idle clock
 * (a claim's renewal does not), and checks the reviewer role and the CSRF token as before. A page (GET) is left to its
 * route: without a session it sends the browser to sign in.
 *
 * Either way the session is read here, before the route's pipes, and its person set as the request's principal: a
 * refusal of a path or a query (a 400 from a pipe, before the route runs) is audited under the person who sent it, not
 * anonymously (red team, 2026-12-07). The route takes the record read here instead of reading the store again
 * (`Sessions.current` with `readAhead`), so this costs no read. Reads are counted by the route (`SessionReads`), not by
 * the platform's read limit, which counts bearer routes only.
 */
@Injectable()
export class SignedInGuard implements CanActivate {
  constructor(private readonly sessions: Sessions) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http' || routeAuthentication(context.getHandler(), context.getClass()) !== 'session') return true;
    const req = context.switchToHttp().getRequest<HttpRequest>();
    const session = await this.sessions.current(req, false, true);
    if (session) req.principal = session.principal;
    else if (readsBody(req.method)) throw new UnauthorizedException('not signed in (or the session ended): sign in at /auth/sign-in');
    return true;
  }
}
