import {
  BadRequestException,
  ConflictException,
  Controller,
  ForbiddenException,
  Get,
  HttpCode,
  HttpException,
  HttpStatus,
  Inject,
  Optional,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { INBOX_OPTIONS } from '../tokens';
import { InboxOptions, resolve } from './inbox.options';
import { esc, page } from './inbox.view';
import { OidcSignIn } from './oidc-sign-in';
import { HttpRequest, HttpResponse, Sessions } from './sessions';
import { securityHeaders } from './security-headers';
import { SignInStarts } from './sign-in-starts';
import type { Logger } from '@countersign/logging';
import { RequestWindows, sourceOf } from '@countersign/limits';
import { ApiRoute, LOGGER } from '@countersign/nest';
import { ClaimService } from '../claims/claim.service';

/**
 * The longest `returnTo` a sign-in keeps: an inbox address with its filters is far shorter. A pending sign-in keeps it
 * for ten minutes, and 15,000 characters each made every start cost 19 KB (red team, 2026-12-06).
 */
export const RETURN_TO_MAX = 512;

/** Only a path of the inbox is a place to return to after sign-in: never another site (no open redirect). */
export const safeReturnTo = (v: unknown) => (typeof v === 'string' && /^\/reviews(\/[\w:-][\w.:-]*)*(\?[\w=&%.:-]*)?$/.test(v) ? v : '/reviews');

/**
 * Where a sign-in comes back to: the inbox address it named (`safeReturnTo`) without a reveal, which is a click on the
 * card and never a link's; and only the inbox itself for a sign-in begun from another origin. The callback comes back
 * by a same-origin refresh, so the card's effects (a claim, a reveal) would be taken for the reviewer's own: a link on
 * any site, followed by a reviewer whose provider session was alive, revealed and claimed in their name (red team,
 * 2026-12-04).
 */
export function returnAddress(returnTo: unknown, fromElsewhere: boolean): string {
  const safe = safeReturnTo(returnTo);
  if (fromElsewhere) return '/reviews';
  const [path, query] = safe.split('?', 2);
  const kept = (query ?? '').split('&').filter((p) => p && !/^reveal(\[|$)/.test(parameterName(p)));
  return kept.length ? `${path}?${kept.join('&')}` : path;
}

/** A query parameter's name, decoded and in lower case; one that does not decode reads as a reveal (and is dropped). */
function parameterName(p: string): string {
  try {
    return decodeURIComponent(p.split('=')[0]).toLowerCase();
  } catch {
    return 'reveal';
  }
}

/** Sign-in through the OpenID Connect provider (authorization code + PKCE), the callback, and sign-out. */
@Controller('auth')
export class SignInController {
  private readonly starts = new SignInStarts();
  /** Provider answers (callbacks) per source address: 30 a minute, as starts. */
  private readonly answers = new RequestWindows(30, 60_000, 10_000);

  constructor(
    private readonly oidc: OidcSignIn,
    private readonly sessions: Sessions,
    @Inject(INBOX_OPTIONS) private readonly options: InboxOptions,
    @Optional() private readonly claims?: ClaimService,
    @Optional() @Inject(LOGGER) private readonly logger?: Logger,
  ) {}

  @ApiRoute({
    summary: 'Start an OpenID Connect sign-in (to the identity provider)',
    public: 'it is how a reviewer signs in',
    query: { returnTo: 'the inbox address to come back to', stepUp: '`mfa`: ask the provider for a second factor' },
    ok: { status: 303, description: 'To the identity provider', contentType: 'none', headers: { Location: "the provider's authorization address" } },
    errors: {
      400: `a returnTo longer than ${RETURN_TO_MAX} characters`,
      429: 'too many sign-ins started from this address in the last minute',
      503: 'the identity provider cannot be reached',
    },
  })
  @Get('sign-in')
  async signIn(
    @Query('returnTo') returnTo: unknown,
    @Query('stepUp') stepUp: unknown,
    @Req() req: HttpRequest & { socket?: { remoteAddress?: string } },
    @Res() res: HttpResponse,
  ) {
    // Checked before it is counted: a refused start keeps nothing, and uses up no one's starts.
    if (typeof returnTo === 'string' && returnTo.length > RETURN_TO_MAX) {
      throw new BadRequestException(`returnTo: at most ${RETURN_TO_MAX} characters (an address of the inbox to come back to)`);
    }
    const refusal = this.starts.refusal(req.socket?.remoteAddress ?? 'unknown');
    if (refusal) throw new HttpException(refusal, HttpStatus.TOO_MANY_REQUESTS);
    // `stepUp=mfa`: the card's "verify with a second factor". Every sign-in is a fresh authentication at the provider now
    // (`OidcSignIn.start`); the parameter is still taken, so the card's links and bookmarks keep working.
    void stepUp;
    const { url, pending } = await this.oidc.start(returnAddress(returnTo, this.sessions.fromElsewhere(req)));
    await this.sessions.remember(res, pending);
    securityHeaders(res);
    res.statusCode = 303;
    res.setHeader('Location', url);
    res.end();
  }

  /**
   * The provider's answer. The session cookie is SameSite=Strict, so the browser leaves here by a same-origin
   * refresh rather than a redirect: a redirect at the end of a chain that began on the provider's site would not carry it.
   */
  @ApiRoute({
    summary: "The identity provider's answer: opens the session",
    public: 'the end of the sign-in (the authorization code and PKCE prove it)',
    openQuery: "the provider's answer (`code`, `state`, `iss`, or `error`…), which openid-client checks",
    ok: { description: 'Signed in: a page that refreshes to where the sign-in began', contentType: 'text/html' },
    errors: {
      400: 'an unknown, expired or already answered sign-in',
      429: 'too many sign-in answers from this address in the last minute',
      401: 'the provider refused or sent no ID token, an authentication from before the sign-in began (or none said), or a `tenants` claim that is not a list of tenant names',
      403: "an id that reads as another person's of the tokens file (case, look-alike letters, separators) but is not it",
      409: 'the browser is signed in to the inbox as someone else: sign out first',
      503: 'the identity provider cannot be reached',
    },
  })
  @Get('callback')
  async callback(@Req() req: HttpRequest & { socket?: { remoteAddress?: string } }, @Res() res: HttpResponse) {
    const pending = await this.sessions.recall(req, res);
    if (!pending) throw new BadRequestException('this sign-in is unknown or took too long: start again at /auth/sign-in');
    // Each answer with a sign-in of its own costs a code exchange at the provider: counted per address, as starts are
    // (red team, 2026-12-08). One without costs nothing and is not counted: 31 of them kept a reviewer on the same
    // address out (the second red team of the day).
    if (this.answers.take(sourceOf(req.socket?.remoteAddress ?? 'unknown')) !== undefined)
      throw new HttpException('too many sign-in answers from this address: start again in a minute', HttpStatus.TOO_MANY_REQUESTS);
    const who = await this.oidc.finish(new URL(req.url, resolve(this.options.publicUrl)), pending);
    const alike = this.sessions.readsAlike(who.sub);
    if (alike)
      throw new ForbiddenException(
        `you signed in as ${JSON.stringify(who.sub)}, which reads as ${JSON.stringify(alike)} of the tokens file but is another id: rules that need two people compare ids, so the inbox does not open for it; ask for an id of your own`,
      );
    // A browser signed in as someone else is not moved to this person's session without a word: a sign-in cookie another
    // port of the host planted, with the callback address of its own sign-in, replaced Alice's session by Fiona's, and
    // the inbox went on as Fiona (sessions probe, 2026-12-06). The same person signing in again (a step-up) replaces it.
    const current = await this.sessions.current(req, false);
    if (current && current.principal.id !== who.sub)
      throw new ConflictException(
        `this browser is signed in to the inbox as ${current.principal.id}: sign out first, then sign in as ${who.sub}; nothing was changed`,
      );
    // The session it replaces ends here: left open, its id went on deciding though the browser had signed in again and
    // then out (red team, 2026-12-07: sign-out ended only the newer session, and the older one approved).
    if (current) await this.sessions.end(req);
    await this.sessions.open(res, who, pending.returnTo);
    securityHeaders(res);
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Refresh', `0; url=${pending.returnTo}`);
    res.end(
      page({ title: 'Signed in', body: `<main class="plain"><h1>Signed in</h1><p><a href="${esc(pending.returnTo)}">Continue to your reviews</a></p></main>` }),
    );
  }

  /**
   * Ends the session here (CSRF-checked), then sends the browser to the provider to end its session too. It declares no
   * body, so none is read or waited for: a slow one held this public route for up to the request timeout (red team,
   * 2026-12-04; libs/platform/nest `routeReadsBody`).
   */
  @ApiRoute({
    summary: "End the session (CSRF-checked), then the provider's",
    public: 'ending a session needs none (with one, its CSRF token)',
    ok: {
      description: 'Signed out; `next` is where to send the browser',
      schema: { type: 'object', required: ['signedOut', 'next'], properties: { signedOut: { type: 'boolean' }, next: { type: 'string' } } },
    },
    errors: { 403: 'a missing or wrong CSRF token for the session' },
  })
  @Post('sign-out')
  @HttpCode(200)
  async signOut(@Req() req: HttpRequest, @Res() res: HttpResponse) {
    const session = await this.sessions.current(req, false);
    if (session) this.sessions.checkCsrf(req, session);
    await this.sessions.close(req, res);
    // The items this person held claimed are free for the others at once, not when the leases run out. A failure here
    // does not keep anyone signed in: the leases end by themselves.
    if (session && this.claims)
      await this.claims
        .releaseAll(session.principal)
        .catch((err: unknown) => this.logger?.warn({ err }, 'claims not released at sign-out; their leases end by themselves'));
    const next = (session && (await this.oidc.signOutUrl(session.idToken).catch(() => undefined))) ?? '/auth/signed-out';
    securityHeaders(res);
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ signedOut: true, next }));
  }

  @ApiRoute({
    summary: 'The signed-out page',
    public: 'a page for a browser without a session',
    ok: { description: 'The page', contentType: 'text/html' },
    unavailable: false,
  })
  @Get('signed-out')
  signedOut(@Res() res: HttpResponse) {
    securityHeaders(res);
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(page({ title: 'Signed out', body: '<main class="plain"><h1>You are signed out</h1><p><a href="/auth/sign-in">Sign in again</a></p></main>' }));
  }
}
