// real: Sessions (cookies, idle and absolute expiry, CSRF), the in-memory session store, safeReturnTo; fake: the clock
// (jest's modern timers) and the HTTP request and response (plain objects).
import { createHash } from 'node:crypto';
import { TokenRegistry } from '@countersign/nest';
import { createInMemorySessionStore } from './in-memory-session.store';
import { InboxOptions } from './inbox.options';
import { HttpRequest, HttpResponse, Sessions } from './sessions';
import { returnAddress, safeReturnTo } from './sign-in.controller';

const who = { sub: 'alice', name: 'Alice', roles: ['reviewer'], amr: ['pwd'], idToken: 'id.token.x' };

function response() {
  const headers: Record<string, unknown> = {};
  const res = {
    statusCode: 200,
    setHeader: (k: string, v: unknown) => void (headers[k.toLowerCase()] = v),
    getHeader: (k: string) => headers[k.toLowerCase()],
  } as unknown as HttpResponse;
  return { res, cookies: () => (headers['set-cookie'] as string[]) ?? [] };
}
const requestWith = (setCookies: string[], headers: Record<string, string> = {}): HttpRequest => ({
  method: 'GET',
  url: '/reviews',
  headers: { cookie: setCookies.map((c) => c.split(';')[0]).join('; '), ...headers },
});
const sessionsFor = (over: Partial<InboxOptions> = {}, tokens?: TokenRegistry) =>
  new Sessions(
    {
      issuer: 'http://127.0.0.1:1',
      clientId: 'c',
      clientSecret: 's',
      publicUrl: 'http://127.0.0.1:8082',
      sessions: createInMemorySessionStore(),
      ...over,
    },
    tokens,
  );

describe('inbox sessions', () => {
  afterEach(() => jest.useRealTimers());

  it('carries who the person may propose as through their tokens (separation of duties in the inbox as on the API), read at each request', async () => {
    const digest = (t: string) => createHash('sha256').update(t).digest('hex');
    const tokens = new TokenRegistry([
      { principal: 'alice', kind: 'agent', roles: ['agent'], agentIds: ['support-copilot'], tokenSha256: digest('alice-agent') },
    ]);
    const sessions = sessionsFor({}, tokens);
    const { res, cookies } = response();
    await sessions.open(res, who);
    expect((await sessions.current(requestWith(cookies())))!.principal).toMatchObject({ id: 'alice', proposesAs: ['support-copilot'] });
    // Without a registry (a test that builds sessions alone), nothing is added.
    expect((await sessionsFor().current(requestWith(cookies())))?.principal.proposesAs).toBeUndefined();
  });

  it("holds the tokens file's tenant binding of the person in the inbox too, narrowing the sign-in's claim (red team, 2026-12-05)", async () => {
    // A binding written in the tokens file held for carol's bearer token, not in her inbox: she approved globex's refund.
    const digest = (t: string) => createHash('sha256').update(t).digest('hex');
    const tokens = new TokenRegistry([
      { principal: 'carol', kind: 'human', roles: ['reviewer'], tenants: ['acme'], tokenSha256: digest('carol-token') },
      // An agent token of the same principal binds what it proposes, not the person's reach.
      { principal: 'alice', kind: 'agent', roles: ['agent'], agentIds: ['alice-bot'], tenants: ['globex'], tokenSha256: digest('alice-agent') },
    ]);
    const sessions = sessionsFor({}, tokens);
    const tenantsOf = async (signedIn: typeof who & { tenants?: string[] }) => {
      const { res, cookies } = response();
      await sessions.open(res, signedIn);
      return (await sessions.current(requestWith(cookies())))!.principal.tenants;
    };
    expect(await tenantsOf({ ...who, sub: 'carol' })).toEqual(['acme']);
    expect(await tenantsOf({ ...who, sub: 'carol', tenants: ['acme', 'globex'] })).toEqual(['acme']);
    // Claims and file share no tenant: she reaches none (never every one).
    expect(await tenantsOf({ ...who, sub: 'carol', tenants: ['globex'] })).toEqual([]);
    expect(await tenantsOf({ ...who, sub: 'alice' })).toBeUndefined();
    expect(await tenantsOf({ ...who, sub: 'alice', tenants: ['initech'] })).toEqual(['initech']);
  });

  it('ends the sessions of a person taken out of the tokens file, keeps a binding whose entry went, and takes none while the file is unusable (revocation probe, 2026-12-05)', async () => {
    const digest = (t: string) => createHash('sha256').update(t).digest('hex');
    const alice = { principal: 'alice', kind: 'human' as const, roles: ['reviewer'], tokenSha256: digest('alice-token') };
    const carol = { principal: 'carol', kind: 'human' as const, roles: ['reviewer'], tenants: ['acme'], tokenSha256: digest('carol-token') };
    const tokens = new TokenRegistry([alice, carol]);
    const sessions = sessionsFor({}, tokens);
    const signIn = async (sub: string) => {
      const { res, cookies } = response();
      await sessions.open(res, { ...who, sub });
      return requestWith(cookies());
    };
    const aliceIn = await signIn('alice');
    const carolIn = await signIn('carol');
    expect((await sessions.current(carolIn))!.principal.tenants).toEqual(['acme']);

    // Both entries go: alice's session ends; carol's would have widened to every tenant, and keeps acme instead.
    tokens.replace([{ ...alice, principal: 'bob', tokenSha256: digest('bob-token') }]);
    expect(await sessions.current(aliceIn)).toBeUndefined();
    expect(tokens.wasRemoved('alice')).toBe(true);
    // carol was removed too: her session ends as well (the binding it kept matters for a person whose entry is only re-bound).
    expect(await sessions.current(carolIn)).toBeUndefined();

    // carol's entry loses its binding: the session opened while it held keeps acme (never wider than at sign-in); a new
    // sign-in is bound by the file no more.
    tokens.replace([alice, carol]);
    const again = await signIn('carol');
    tokens.replace([alice, { ...carol, tenants: undefined }]);
    expect((await sessions.current(again))!.principal.tenants).toEqual(['acme']);
    expect((await sessions.current(await signIn('carol')))!.principal.tenants).toBeUndefined();

    // A tokens file that cannot be used: no session is taken, and each is taken again once it can.
    const back = await signIn('alice');
    tokens.refuseAll('the tokens file cannot be read');
    expect(await sessions.current(back)).toBeUndefined();
    tokens.replace([alice, carol]);
    expect((await sessions.current(back))!.principal.id).toBe('alice');
  });

  it('a session read once (a live-update stream) follows the tokens file as it is now: narrowed, never widened, ended when the person is taken out (red team, 2026-12-07)', async () => {
    const digest = (t: string) => createHash('sha256').update(t).digest('hex');
    const alice = { principal: 'alice', kind: 'human' as const, roles: ['reviewer'], tokenSha256: digest('alice-token') };
    const tokens = new TokenRegistry([alice]);
    const sessions = sessionsFor({}, tokens);
    const { res, cookies } = response();
    await sessions.open(res, who);
    // What the stream read when it opened: every tenant.
    const opened = (await sessions.current(requestWith(cookies()), false))!;
    expect(opened.principal.tenants).toBeUndefined();
    tokens.replace([{ ...alice, tenants: ['globex'] }]);
    expect(sessions.asNow(opened)!.principal.tenants).toEqual(['globex']);
    // Narrowed once more, then widened again in the file: the stream keeps the narrowest it saw bound (a new read widens).
    const narrowed = sessions.asNow(opened)!;
    tokens.replace([alice]);
    expect(sessions.asNow(narrowed)!.principal.tenants).toEqual(['globex']);
    tokens.refuseAll('the tokens file cannot be read');
    expect(sessions.asNow(opened)).toBeUndefined();
    tokens.replace([{ ...alice, principal: 'bob', tokenSha256: digest('bob-token') }]);
    expect(sessions.asNow(opened)).toBeUndefined();
  });

  it('sets an HttpOnly, SameSite=Strict cookie, Secure only under TLS', async () => {
    const { res, cookies } = response();
    await sessionsFor().open(res, who);
    expect(cookies()[0]).toMatch(/^cs_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    const tls = response();
    await sessionsFor({ publicUrl: 'https://reviews.example' }).open(tls.res, who);
    expect(tls.cookies()[0]).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
  });

  it('names its cookies __Host- under TLS and reads no plain-named one there (a cookie planted by a sibling host)', async () => {
    const sessions = sessionsFor({ publicUrl: 'https://reviews.example' });
    const { res, cookies } = response();
    await sessions.open(res, who);
    const [session] = cookies();
    expect(session).toMatch(/^__Host-cs_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
    const id = session.slice('__Host-cs_session='.length, session.indexOf(';'));
    expect(await sessions.current(requestWith([`__Host-cs_session=${id}`]))).toMatchObject({ principal: { id: 'alice' } });
    // The same session id under the plain name, as a sibling subdomain can set it: not read.
    expect(await sessions.current(requestWith([`cs_session=${id}`]))).toBeUndefined();
    // The sign-in cookie too, with the Path=/ a __Host- cookie must have.
    const signIn = response();
    await sessions.remember(signIn.res, { kind: 'pending', state: 's', nonce: 'n', codeVerifier: 'v', returnTo: '/reviews' });
    const [pending] = signIn.cookies();
    expect(pending).toMatch(/^__Host-cs_signin=[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Secure; Max-Age=600$/);
    const pendingId = pending.slice('__Host-cs_signin='.length, pending.indexOf(';'));
    expect(await sessions.recall(requestWith([`cs_signin=${pendingId}`]), response().res)).toBeUndefined();
    expect(await sessions.recall(requestWith([`__Host-cs_signin=${pendingId}`]), response().res)).toMatchObject({ state: 's' });
  });

  it('ends a session after the idle timeout, and each request restarts the idle clock', async () => {
    jest.useFakeTimers({ now: new Date('2026-11-30T10:00:00Z') });
    const sessions = sessionsFor({ idleTimeoutMs: 60_000 });
    const { res, cookies } = response();
    await sessions.open(res, who);
    const req = requestWith(cookies());
    jest.advanceTimersByTime(50_000);
    // `amr` rides on the principal: the step-up for critical approvals reads it there.
    expect((await sessions.current(req))?.principal).toEqual({ id: 'alice', kind: 'human', roles: ['reviewer'], authMethod: 'oidc', amr: ['pwd'] });
    jest.advanceTimersByTime(50_000);
    // A live-update stream's check does not count as activity …
    expect(await sessions.current(req, false)).toBeDefined();
    jest.advanceTimersByTime(20_000);
    // … so 70 s after the last request, the session is gone.
    expect(await sessions.current(req)).toBeUndefined();
  });

  it('ends a session after its maximum lifetime, however active', async () => {
    jest.useFakeTimers({ now: new Date('2026-11-30T10:00:00Z') });
    const sessions = sessionsFor({ idleTimeoutMs: 60_000, maxSessionMs: 150_000 });
    const { res, cookies } = response();
    await sessions.open(res, who);
    const req = requestWith(cookies());
    for (let i = 0; i < 3; i++) {
      jest.advanceTimersByTime(45_000);
      expect(await sessions.current(req)).toBeDefined();
    }
    jest.advanceTimersByTime(45_000);
    expect(await sessions.current(req)).toBeUndefined();
  });

  it('signs out: the session is gone and the cookie cleared', async () => {
    const sessions = sessionsFor();
    const { res, cookies } = response();
    await sessions.open(res, who);
    const req = requestWith(cookies());
    const out = response();
    await sessions.close(req, out.res);
    expect(out.cookies()[0]).toMatch(/^cs_session=; .*Max-Age=0$/);
    expect(await sessions.current(req)).toBeUndefined();
  });

  it('a sign-out that carries no session cookie (a page of another site: SameSite=Strict sends none) clears nothing (red team, 2026-12-05)', async () => {
    const sessions = sessionsFor();
    const { res, cookies } = response();
    await sessions.open(res, who);
    const out = response();
    await sessions.close(requestWith([]), out.res);
    expect(out.cookies()).toEqual([]);
    // The reviewer's own session is still theirs.
    expect(await sessions.current(requestWith(cookies()))).toMatchObject({ principal: { id: 'alice' } });
  });

  it('takes neither of two session cookies (one planted by another port of the host, longer path first), and the next sign-in clears the planted one on its way (red team, 2026-12-05)', async () => {
    const sessions = sessionsFor();
    const alice = response();
    await sessions.open(alice.res, who);
    const fiona = response();
    await sessions.open(fiona.res, { ...who, sub: 'fiona', name: 'Fiona' });
    const [own, planted] = [alice.cookies()[0].split(';')[0], fiona.cookies()[0].split(';')[0]];
    const both = (first: string, second: string): HttpRequest => ({ method: 'GET', url: '/reviews', headers: { cookie: `${first}; theme=x; ${second}` } });
    expect(await sessions.current(both(planted, own))).toBeUndefined();
    expect(await sessions.current(both(own, planted))).toBeUndefined();
    expect(sessions.tossed(both(planted, own))).toBe(true);
    // Each alone is what it is.
    expect(await sessions.current(requestWith([own]))).toMatchObject({ principal: { id: 'alice' } });
    // Signing in again on the way to a card clears a session cookie under every path above it, then sets the new one.
    const again = response();
    await sessions.open(again.res, who, '/reviews/act-1?reveal=1');
    expect(again.cookies().map((c) => c.replace(/=[\w-]{43};/, '=<id>;'))).toEqual([
      'cs_session=; Path=/reviews; HttpOnly; SameSite=Strict; Max-Age=0',
      'cs_session=; Path=/reviews/act-1; HttpOnly; SameSite=Strict; Max-Age=0',
      'cs_session=<id>; Path=/; HttpOnly; SameSite=Strict',
    ]);
    // Under TLS a `__Host-` cookie has only Path=/: nothing to clear.
    const tls = response();
    await sessionsFor({ publicUrl: 'https://reviews.example' }).open(tls.res, who, '/reviews/act-1');
    expect(tls.cookies()).toHaveLength(1);
  });

  it('refuses a decision without the session’s CSRF token or from another origin', async () => {
    const sessions = sessionsFor();
    const { res } = response();
    const session = await sessions.open(res, who);
    expect(() => sessions.checkCsrf(requestWith([]), session)).toThrow('CSRF');
    expect(() => sessions.checkCsrf(requestWith([], { 'x-csrf-token': 'x'.repeat(43) }), session)).toThrow('CSRF');
    // Outside ASCII, as Node reads header bytes (latin1): the same number of characters, more bytes (red team, 2026-12-05: a 500).
    expect(() => sessions.checkCsrf(requestWith([], { 'x-csrf-token': '\u00e9'.repeat(session.csrf.length) }), session)).toThrow('missing or wrong CSRF token');
    expect(() => sessions.checkCsrf(requestWith([], { 'x-csrf-token': '\u00e9'.repeat(43) }), session)).toThrow('CSRF');
    expect(() => sessions.checkCsrf(requestWith([], { 'x-csrf-token': session.csrf, origin: 'http://evil.example' }), session)).toThrow('Origin');
    expect(() => sessions.checkCsrf(requestWith([], { 'x-csrf-token': session.csrf, origin: 'http://127.0.0.1:8082' }), session)).not.toThrow();
  });

  it('names the session’s person on a request it refuses, so that the refusal is audited under them (red team, 2026-12-07)', async () => {
    const sessions = sessionsFor();
    const session = await sessions.open(response().res, who);
    const refused = requestWith([]);
    expect(() => sessions.checkCsrf(refused, session)).toThrow('CSRF');
    expect(refused.principal).toBe(session.principal);
  });

  it('takes the record its guard read ahead once, instead of reading the store again; a later check reads the store', async () => {
    const store = createInMemorySessionStore();
    let reads = 0;
    const get = store.get.bind(store);
    store.get = (key) => (reads++, get(key));
    const sessions = sessionsFor({ sessions: store });
    const { res, cookies } = response();
    await sessions.open(res, who);
    const req = requestWith(cookies());
    expect((await sessions.current(req, false, true))?.principal.id).toBe('alice');
    // The route's call (a live-update stream's, which does not touch: a touch reads the record it writes over).
    expect((await sessions.current(req, false))?.principal.id).toBe('alice');
    expect(reads).toBe(1);
    // A live-update stream's later check: the store as it is now (signed out meanwhile: no session).
    await sessions.close(req, response().res);
    expect(await sessions.current(req, false)).toBeUndefined();
    expect(reads).toBe(2);
  });

  it("tells a request from a page of another origin (a sibling origin's <img>, which SameSite=Strict lets through) from the inbox's own (red team, 2026-12-04)", () => {
    const sessions = sessionsFor();
    const from = (headers: Record<string, string>) => sessions.fromElsewhere(requestWith([], headers));
    // What browsers say.
    expect(from({ 'sec-fetch-site': 'same-origin' })).toBe(false);
    expect(from({ 'sec-fetch-site': 'none' })).toBe(false); // typed into the address bar, a bookmark
    // …which opens a card but reveals nothing (a link in a mail opens the same way: red team, 2026-12-07).
    expect(sessions.fromOutside(requestWith([], { 'sec-fetch-site': 'none' }))).toBe(true);
    expect(sessions.fromOutside(requestWith([], { 'sec-fetch-site': 'same-origin' }))).toBe(false);
    expect(sessions.fromOutside(requestWith([], {}))).toBe(false);
    expect(from({ 'sec-fetch-site': 'same-site', referer: 'http://127.0.0.1:8299/index.html' })).toBe(true);
    expect(from({ 'sec-fetch-site': 'cross-site' })).toBe(true);
    // Without Sec-Fetch-Site: Origin, then Referer.
    expect(from({})).toBe(false); // a tool, not a page
    expect(from({ referer: 'http://127.0.0.1:8082/reviews' })).toBe(false);
    expect(from({ referer: 'http://127.0.0.1:8299/' })).toBe(true);
    expect(from({ origin: 'null' })).toBe(true);
    expect(from({ origin: 'http://127.0.0.1:8082' })).toBe(false);
    expect(from({ origin: 'not a url' })).toBe(true);
  });

  it('keeps a sign-in in its own sealed cookie, nothing in the store, answered once: refused when sent again, changed, sealed under another key, or older than ten minutes (red team, 2026-12-08)', async () => {
    const store = createInMemorySessionStore();
    const set = jest.spyOn(store, 'set');
    const key = Buffer.alloc(32, 7);
    const sessions = sessionsFor({ sessions: store, signInKey: key });
    const { res, cookies } = response();
    await sessions.remember(res, { kind: 'pending', state: 's', nonce: 'n', codeVerifier: 'v', returnTo: '/reviews' });
    expect(set).not.toHaveBeenCalled();
    expect(cookies()[0]).toMatch(/^cs_signin=[\w-]+; Path=\/auth; HttpOnly; SameSite=Lax; Max-Age=600$/);
    // Sealed: the verifier is not readable in it.
    const value = cookies()[0].slice('cs_signin='.length, cookies()[0].indexOf(';'));
    expect(Buffer.from(value, 'base64url').toString('latin1')).not.toContain('"codeVerifier"');
    const answer = response();
    expect(await sessions.recall(requestWith(cookies()), answer.res)).toMatchObject({ state: 's', codeVerifier: 'v' });
    // The cookie is cleared by the callback, and a copy of it sent again is not answered (red team, 2026-12-08: each
    // copy cost a code exchange at the provider).
    expect(answer.cookies()).toEqual(['cs_signin=; Path=/auth; HttpOnly; SameSite=Lax; Max-Age=0']);
    expect(await sessions.recall(requestWith(cookies()), response().res)).toBeUndefined();
    // Another instance with the same key opens it (the provider's answer may reach any instance); another key does not.
    expect(await sessionsFor({ signInKey: Buffer.alloc(32, 7) }).recall(requestWith(cookies()), response().res)).toMatchObject({ state: 's' });
    expect(await sessionsFor({ signInKey: Buffer.alloc(32, 8) }).recall(requestWith(cookies()), response().res)).toBeUndefined();
    // One character changed, cut short, not base64, or huge: refused.
    const flipped = value.slice(0, 40) + (value[40] === 'A' ? 'B' : 'A') + value.slice(41);
    for (const bad of [flipped, value.slice(0, 30), '%%%', 'A'.repeat(5000)])
      expect(await sessions.recall(requestWith([`cs_signin=${bad}`]), response().res)).toBeUndefined();
    // Ten minutes later: too old.
    const fresh = response();
    await sessions.remember(fresh.res, { kind: 'pending', state: 's2', nonce: 'n', codeVerifier: 'v', returnTo: '/reviews' });
    const later = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 10 * 60_000 + 1);
    try {
      expect(await sessions.recall(requestWith(fresh.cookies()), response().res)).toBeUndefined();
    } finally {
      later.mockRestore();
    }
  });

  it('returns after sign-in only to a page of the inbox', () => {
    expect(safeReturnTo('/reviews/act-1?reveal=true')).toBe('/reviews/act-1?reveal=true');
    for (const bad of ['https://evil.example/reviews', '//evil.example', '/reviews/../v1', '/reviews/%2e%2e/v1', '/\\evil', 42])
      expect(safeReturnTo(bad)).toBe('/reviews');
  });

  it('comes back without a reveal, and to the inbox alone from a sign-in begun elsewhere (red team, 2026-12-04)', () => {
    // A reveal is a click on the card, never a link's: after the callback's same-origin refresh it would look the reviewer's own.
    for (const [asked, back] of [
      ['/reviews/act-1?reveal=true', '/reviews/act-1'],
      ['/reviews/act-1?class=high&Reveal=true&tenant=acme', '/reviews/act-1?class=high&tenant=acme'],
      ['/reviews/act-1?%72eveal=true', '/reviews/act-1'],
      ['/reviews/act-1?reveal%5B%5D=true', '/reviews/act-1'],
      ['/reviews/act-1?%zz=1&class=high', '/reviews/act-1?class=high'],
      ['/reviews?class=high', '/reviews?class=high'],
    ])
      expect(returnAddress(asked, false)).toBe(back);
    // Begun from another origin (a link on any site, a sibling origin's redirect): the inbox, not the card it named.
    expect(returnAddress('/reviews/act-1', true)).toBe('/reviews');
    expect(returnAddress('https://evil.example/reviews', false)).toBe('/reviews');
  });
});

describe('inbox sessions: a sign-out is never undone (red team, round 14)', () => {
  it('a request that read the session before a sign-out does not write it back after', async () => {
    const store = createInMemorySessionStore();
    // The sign-out lands between this request's read and its touch.
    let signOutBetween = false;
    const racing = {
      ...store,
      set: store.set.bind(store),
      delete: store.delete.bind(store),
      touch: store.touch.bind(store),
      get: async (key: string) => {
        const found = await store.get(key);
        if (signOutBetween) await store.delete(key);
        return found;
      },
    };
    const sessions = sessionsFor({ sessions: racing });
    const { res, cookies } = response();
    await sessions.open(res, who);
    expect(await sessions.current(requestWith(cookies()))).toBeDefined();
    signOutBetween = true;
    expect(await sessions.current(requestWith(cookies()))).toBeUndefined();
    signOutBetween = false;
    expect(await sessions.current(requestWith(cookies()))).toBeUndefined();
  });
});
