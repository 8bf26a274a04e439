import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ForbiddenException, Inject, Injectable, Optional } from '@nestjs/common';
import { narrowTenants, TOKEN_REGISTRY, TokenRegistry } from '@countersign/nest';
import { INBOX_OPTIONS } from '../tokens';
import { InboxOptions, resolve } from './inbox.options';
import type { SignedInIdentity } from './oidc-sign-in';
import type { PendingSignIn, ReviewerSession, SessionRecord } from './session.store';

export const SESSION_COOKIE = 'cs_session';
export const SIGN_IN_COOKIE = 'cs_signin';
/**
 * Under TLS the cookies are named `__Host-…`: a browser takes such a cookie only from a secure origin, for this host
 * alone, with `Path=/` and no `Domain`, so a sibling subdomain or a plain-HTTP page on the host cannot plant one (cookie
 * tossing: a session of the attacker's, sent before the reviewer's own). The plain names are not read then.
 */
export const HOST_PREFIX = '__Host-';
const SIGN_IN_TTL_MS = 10 * 60_000;
/** What a sealed sign-in cookie is bound to: a value sealed by the same key for another use does not open as one. */
const SIGN_IN_AAD = Buffer.from('countersign inbox sign-in v1');
/** The most answered sign-ins noted as used (`Sessions.firstUse`): 100,000 at about 60 bytes each. */
const USED_SIGN_INS_KEPT = 100_000;

/** The bits of a Node request and response the inbox reads and writes (Express's, under Nest). */
export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  principal?: ReviewerSession['principal'];
}
export interface HttpResponse {
  statusCode: number;
  setHeader(name: string, value: string | string[]): void;
  getHeader(name: string): unknown;
  end(body?: string): void;
  write(chunk: string): boolean;
  on(event: 'close', listener: () => void): void;
  flushHeaders(): void;
}

/** What the inbox's guard read of a request's session record (`Sessions.current` with `readAhead`), for the route to take. */
const READ_AHEAD = Symbol('countersign.inbox.sessionReadAhead');
type ReadAheadRequest = HttpRequest & { [READ_AHEAD]?: { key: string; found: SessionRecord | undefined } };

/** The store keys sessions by the SHA-256 of the cookie: what a store holds cannot be replayed as a cookie. */
const keyOf = (id: string) => createHash('sha256').update(id).digest('base64url');
const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * The inbox's sessions: a random id in a cookie (HttpOnly, SameSite=Strict; Secure and `__Host-` under TLS), the session itself
 * server-side, ended by sign-out, by `idleTimeoutMs` without a request, or by `maxSessionMs` whatever happens.
 */
@Injectable()
export class Sessions {
  readonly idleTimeoutMs: number;
  private readonly maxSessionMs: number;
  private readonly signInKey: Buffer;
  /** The sealed sign-ins answered here, until each ends (`firstUse`). */
  private readonly usedSignIns = new Map<string, number>();

  constructor(
    @Inject(INBOX_OPTIONS) private readonly options: InboxOptions,
    // Who may propose as which agent, by principal id: separation of duties holds for a person in the inbox as for
    // their bearer tokens (absent in tests that build sessions alone).
    @Optional() @Inject(TOKEN_REGISTRY) private readonly tokens?: TokenRegistry,
  ) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 15 * 60_000;
    this.maxSessionMs = options.maxSessionMs ?? 12 * 3600_000;
    this.signInKey = options.signInKey ?? randomBytes(32);
  }

  /**
   * The signed-in reviewer of this request, their idle clock restarted (`touch: false`: a live-update stream's check); undefined when none.
   * `readAhead`: the inbox's guard reads the session before the route's pipes run, so that a refusal of a path or a query
   * is audited under the person; the record it read is kept on the request, and the route's own call takes it instead of
   * reading the store again (once: a later check reads the store).
   */
  async current(req: HttpRequest, touch = true, readAhead = false): Promise<ReviewerSession | undefined> {
    // Two session cookies: one was planted beside the reviewer's own (cookie tossing from another port of a plain-HTTP
    // host, with a longer Path so the browser sends it first). Neither is taken: no request is acted on under a session
    // the reviewer may not have opened (red team, 2026-12-05). The next sign-in clears the planted one (`open`).
    if (this.tossed(req)) return undefined;
    const id = cookies(req)[this.named(SESSION_COOKIE)];
    if (!id) return undefined;
    const key = keyOf(id);
    const ahead = (req as ReadAheadRequest)[READ_AHEAD];
    delete (req as ReadAheadRequest)[READ_AHEAD];
    const found = ahead?.key === key ? ahead.found : await this.options.sessions.get(key);
    if (readAhead) (req as ReadAheadRequest)[READ_AHEAD] = { key, found };
    if (found?.kind !== 'session') return undefined;
    const now = Date.now();
    if (now - found.lastSeenAt >= this.idleTimeoutMs || now - found.createdAt >= this.maxSessionMs) {
      await this.options.sessions.delete(key);
      return undefined;
    }
    if (touch) {
      found.lastSeenAt = now;
      // Only over the record still there: signed out (or ended) meanwhile, the session stays ended.
      if (!(await this.options.sessions.touch(key, found, this.expiry(found)))) return undefined;
    }
    if (this.tokens && !this.tokens.refusal() && this.tokens.wasRemoved(found.principal.id)) {
      await this.options.sessions.delete(key);
      return undefined;
    }
    return this.asNow(found);
  }

  /**
   * `session` as the tokens file has it now, or undefined when it may not be used now. Synchronous: a live-update
   * stream asks it at every change it would tell (red team, 2026-12-07: a stream opened before the person's tenants were
   * narrowed went on telling of the other tenants' items).
   */
  asNow(session: ReviewerSession): ReviewerSession | undefined {
    if (!this.tokens) return session;
    // The tokens file cannot be used now: who was taken out of it cannot be known, so no session is taken either (it is
    // kept, and taken again once the file is good), as no bearer token is.
    if (this.tokens.refusal()) return undefined;
    // Taken out of the tokens file while this process runs (they left, or were moved): their sessions end at once, as
    // their bearer tokens stop (revocation probe, 2026-12-05: a removed reviewer went on approving in the inbox).
    if (this.tokens.wasRemoved(session.principal.id)) return undefined;
    // Read at every request, never stored: the tokens file is the one record of who may propose as which agent, and
    // its tenant binding of the person holds here as for their bearer tokens, narrowing the sign-in's (ADR 0052). An
    // entry gone since the sign-in leaves its binding on the session: a removal never widens (revocation probe).
    const tenants = narrowTenants(session.principal.tenants, this.tokens.tenantsOf(session.principal.id) ?? session.boundAtSignIn);
    const { tenants: _claimed, ...principal } = session.principal;
    return { ...session, principal: { ...principal, ...(tenants && { tenants }), proposesAs: this.tokens.proposesAs(session.principal.id) } };
  }

  /** Whether the request carries more than one session cookie (`current` takes none of them then). */
  tossed(req: HttpRequest): boolean {
    return cookieValues(req, this.named(SESSION_COOKIE)).length > 1;
  }

  /**
   * The principal of the tokens file whose id `sub` reads alike but is not (`TokenRegistry.readsAlike`): such a sign-in is
   * refused, or one person could decide as two (red team, 2026-12-07).
   */
  readsAlike(sub: string): string | undefined {
    return this.tokens?.readsAlike(sub);
  }

  /**
   * Opens a session for a verified identity; the cookie goes on `res`. Over plain HTTP, a session cookie another page
   * of the host may have planted under a longer path on the way to `returnTo` is cleared with it: a browser sends the
   * longest path first, so such a cookie would stand beside the new one (under TLS, `__Host-` cookies have only `/`).
   */
  async open(res: HttpResponse, who: SignedInIdentity, returnTo = '/'): Promise<ReviewerSession> {
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    const session: ReviewerSession = {
      kind: 'session',
      // `amr` rides on the principal: the decisions' step-up rule (approvals/step-up.ts) reads it there, whatever the path.
      // So does the time they authenticated (the ID token's `auth_time`; none sent: none, and no step-up is recent).
      principal: {
        id: who.sub,
        kind: 'human',
        roles: who.roles,
        // The tenants they serve, from the sign-in's claim (ADR 0052); none: every tenant.
        ...(who.tenants && { tenants: who.tenants }),
        authMethod: 'oidc',
        amr: who.amr,
        ...(who.authTime !== undefined && { authTime: who.authTime }),
      },
      name: who.name,
      amr: who.amr,
      authTime: who.authTime ?? now,
      idToken: who.idToken,
      csrf: randomBytes(32).toString('base64url'),
      createdAt: now,
      lastSeenAt: now,
      ...(this.tokens?.tenantsOf(who.sub) && { boundAtSignIn: this.tokens.tenantsOf(who.sub) }),
    };
    await this.options.sessions.set(keyOf(id), session, this.expiry(session));
    if (!this.secure) for (const path of pathsAbove(returnTo)) appendCookie(res, this.cookie(SESSION_COOKIE, '', { sameSite: 'Strict', path, maxAge: 0 }));
    appendCookie(res, this.cookie(SESSION_COOKIE, id, { sameSite: 'Strict', path: '/' }));
    return session;
  }

  /**
   * Ends the request's session (sign-out) and clears its cookie. A request that carries no session cookie changes
   * nothing: a page of another site posting here is sent no SameSite=Strict cookie, and clearing the reviewer's cookie
   * for it signed them out in the browser while their session stayed open on the server (red team, 2026-12-05).
   */
  async close(req: HttpRequest, res: HttpResponse): Promise<void> {
    if (!(await this.end(req))) return;
    appendCookie(res, this.cookie(SESSION_COOKIE, '', { sameSite: 'Strict', path: '/', maxAge: 0 }));
  }

  /** Ends the sessions the request's cookies name, on the server (a sign-in that replaces one); whether it named any. */
  async end(req: HttpRequest): Promise<boolean> {
    const ids = cookieValues(req, this.named(SESSION_COOKIE));
    for (const id of ids) await this.options.sessions.delete(keyOf(id));
    return ids.length > 0;
  }

  /**
   * Keeps a sign-in on its way through the identity provider, in its own cookie, sealed (AES-256-GCM under `signInKey`)
   * and valid ten minutes: the server keeps nothing per start. Kept in the session store, every start held memory until
   * it lapsed, so the starts from all addresses together were capped, and anyone sending 10 a second kept every
   * reviewer from signing in (red team, 2026-12-08). Its cookie is SameSite=Lax, not Strict: the provider's redirect back
   * is a cross-site navigation for a provider on another site, and a Strict cookie would not come back.
   */
  async remember(res: HttpResponse, pending: PendingSignIn): Promise<void> {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.signInKey, iv).setAAD(SIGN_IN_AAD);
    const body = Buffer.concat([cipher.update(JSON.stringify({ pending, until: Date.now() + SIGN_IN_TTL_MS }), 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
    appendCookie(res, this.cookie(SIGN_IN_COOKIE, sealed, { sameSite: 'Lax', path: '/auth', maxAge: SIGN_IN_TTL_MS / 1000 }));
  }

  /**
   * The sign-in this callback answers, once; undefined when absent, not sealed here, too old, or answered before
   * (`firstUse`). Its cookie is cleared. Beyond that, the provider redeems a code once, and only with this sign-in's PKCE
   * verifier.
   */
  async recall(req: HttpRequest, res: HttpResponse): Promise<PendingSignIn | undefined> {
    const sealed = cookies(req)[this.named(SIGN_IN_COOKIE)];
    appendCookie(res, this.cookie(SIGN_IN_COOKIE, '', { sameSite: 'Lax', path: '/auth', maxAge: 0 }));
    if (!sealed || sealed.length > 4096) return undefined;
    try {
      const raw = Buffer.from(sealed, 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', this.signInKey, raw.subarray(0, 12)).setAAD(SIGN_IN_AAD);
      decipher.setAuthTag(raw.subarray(12, 28));
      const { pending, until } = JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8'));
      if (typeof until !== 'number' || until <= Date.now() || pending?.kind !== 'pending') return undefined;
      return this.firstUse(raw.subarray(0, 12).toString('base64url'), until) ? (pending as PendingSignIn) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Whether the sealed sign-in named by `iv` is answered for the first time here (noted until `until`, its end). A copy
   * of one cookie sent again and again made the review queue exchange a made-up code at the provider each time, and
   * used up what the provider takes from the review queue's address (red team, 2026-12-08). Noted in this process: on
   * another instance a copy is answered once more at most. At most `USED_SIGN_INS_KEPT` are noted (the ended first,
   * then the oldest).
   */
  private firstUse(iv: string, until: number): boolean {
    if (this.usedSignIns.has(iv)) return false;
    if (this.usedSignIns.size >= USED_SIGN_INS_KEPT) {
      const now = Date.now();
      for (const [k, end] of this.usedSignIns) if (end <= now) this.usedSignIns.delete(k);
      while (this.usedSignIns.size >= USED_SIGN_INS_KEPT) this.usedSignIns.delete(this.usedSignIns.keys().next().value!);
    }
    this.usedSignIns.set(iv, until);
    return true;
  }

  /**
   * Refuses a state-changing request without the session's CSRF token (`X-CSRF-Token`), or sent from another origin.
   * SameSite=Strict already keeps the cookie off other sites' requests; the token also covers a sibling site.
   */
  checkCsrf(req: HttpRequest, session: ReviewerSession): void {
    // A refusal is audited under the session's person (the rejection filter reads `req.principal`): sign-out's refusals
    // were recorded without one (red team, 2026-12-07).
    req.principal ??= session.principal;
    const origin = req.headers.origin;
    if (typeof origin === 'string' && origin !== this.ownOrigin()) {
      throw new ForbiddenException('a decision must come from the inbox itself (Origin does not match)');
    }
    const sent = req.headers['x-csrf-token'];
    // Compared as SHA-256 digests, of one length whatever was sent (red team, 2026-12-05: a token of 43 characters outside
    // ASCII is more than 43 bytes, and timingSafeEqual threw on the lengths: a 500, unaudited).
    const ok = typeof sent === 'string' && timingSafeEqual(sha256(sent), sha256(session.csrf));
    if (!ok) throw new ForbiddenException('missing or wrong CSRF token: reload the inbox and try again');
  }

  /**
   * Whether a request with the session's cookie was made by a page of another origin: a browser says so in
   * `Sec-Fetch-Site` (`same-site` too: SameSite=Strict sends the cookie to a sibling origin's `<img>`, another port on
   * the same host, a sibling subdomain); without it, an `Origin` or `Referer` of another origin says so. A request with
   * neither (typed into the address bar, a tool) is the reviewer's own.
   */
  fromElsewhere(req: HttpRequest): boolean {
    const site = req.headers['sec-fetch-site'];
    if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
    const from = req.headers.origin ?? req.headers.referer;
    if (typeof from !== 'string' || from === 'null') return typeof from === 'string';
    try {
      return new URL(from).origin !== this.ownOrigin();
    } catch {
      return true;
    }
  }

  /**
   * Whether the request is a navigation the browser started on its own, from outside any page (`Sec-Fetch-Site: none`):
   * an address typed, a bookmark, or a link opened from a mail or chat application. Such a request may open a card (the
   * reviewer chose to), but it reveals nothing: a link sent to a reviewer must not reveal regulated data in their name
   * (red team, 2026-12-07). The card offers its reveal link, which the inbox's own page follows.
   */
  fromOutside(req: HttpRequest): boolean {
    return req.headers['sec-fetch-site'] === 'none';
  }

  /** The inbox's own origin, from its public URL. */
  private ownOrigin(): string {
    return new URL(resolve(this.options.publicUrl)).origin;
  }

  private expiry(s: ReviewerSession) {
    return Math.min(s.lastSeenAt + this.idleTimeoutMs, s.createdAt + this.maxSessionMs);
  }

  /** Whether the inbox is served over TLS (its public URL): its cookies are then Secure and `__Host-` named. */
  private get secure(): boolean {
    return resolve(this.options.publicUrl).startsWith('https:');
  }

  /** A cookie's name as set and read: `__Host-` prefixed under TLS (`HOST_PREFIX`). */
  private named(name: string): string {
    return this.secure ? `${HOST_PREFIX}${name}` : name;
  }

  private cookie(name: string, value: string, o: { sameSite: 'Strict' | 'Lax'; path: string; maxAge?: number }) {
    const secure = this.secure;
    return [
      `${this.named(name)}=${value}`,
      // A `__Host-` cookie must have Path=/ (the sign-in cookie's /auth only narrows where a plain one is sent).
      `Path=${secure ? '/' : o.path}`,
      'HttpOnly',
      `SameSite=${o.sameSite}`,
      ...(secure ? ['Secure'] : []),
      ...(o.maxAge !== undefined ? [`Max-Age=${o.maxAge}`] : []),
    ].join('; ');
  }
}

/** Every value the request carries for the cookie `name`, in the order sent. */
export function cookieValues(req: HttpRequest, name: string): string[] {
  const header = req.headers.cookie;
  const out: string[] = [];
  for (const part of (typeof header === 'string' ? header : '').split(';')) {
    const i = part.indexOf('=');
    if (i >= 0 && part.slice(0, i).trim() === name) out.push(part.slice(i + 1).trim());
  }
  return out;
}

/** The paths a cookie sent for `path` may have been set under, but `/`: `/reviews/a` → `/reviews`, `/reviews/a`. */
export function pathsAbove(path: string): string[] {
  const segments = path.split(/[?#]/)[0].split('/').filter(Boolean).slice(0, 8);
  return segments.map((_, i) => `/${segments.slice(0, i + 1).join('/')}`);
}

/** The request's cookies by name (the first of a name wins). */
export function cookies(req: HttpRequest): Record<string, string> {
  const header = req.headers.cookie;
  const out: Record<string, string> = {};
  for (const part of (typeof header === 'string' ? header : '').split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const name = part.slice(0, i).trim();
    if (name && !(name in out)) out[name] = part.slice(i + 1).trim();
  }
  return out;
}

function appendCookie(res: HttpResponse, cookie: string) {
  const had = res.getHeader('Set-Cookie');
  res.setHeader('Set-Cookie', [...(Array.isArray(had) ? (had as string[]) : had ? [String(had)] : []), cookie]);
}
