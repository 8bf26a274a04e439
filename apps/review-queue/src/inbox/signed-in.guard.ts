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
 */
@Injectable()
export class SignedInGuard implements CanActivate {
  constructor(private readonly sessions: Sessions) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http' || routeAuthentication(context.getHandler(), context.getClass()) !== 'session') return true;
    const req = context.switchToHttp().getRequest<HttpRequest>();
    if (!readsBody(req.method)) return true;
    const session = await this.sessions.current(req, false);
    if (!session) throw new UnauthorizedException('not signed in (or the session ended): sign in at /auth/sign-in');
    // The rejection filter audits a refusal of the body under the session's principal.
    req.principal = session.principal;
    return true;
  }
}
