// real: the local identity provider (oidc-provider) on 127.0.0.1, its sign-in pages, scrypt passwords and RFC 6238 codes,
// driven over HTTP as a browser would (cookies, forms, an authorization request with PKCE); fake: the clock.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunningIdentityProvider, SignInRefusal, startIdentityProvider } from './identity-provider';
import { SignInThrottle } from './sign-in-throttle';
import { totpCode, totpStep } from './totp';
import { DEFAULT_USERS, writeIdentityUsers } from './users';

const CLIENT = { clientId: 'inbox', clientSecret: 'inbox-secret', redirectUris: ['http://127.0.0.1:1/cb'], postLogoutRedirectUris: [] };

describe('the local identity provider refuses guessing and replay', () => {
  let clock = Date.parse('2026-12-01T10:00:00.000Z');
  let idp: RunningIdentityProvider;
  const refused: SignInRefusal[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'identity-'));
  const { users, secrets } = writeIdentityUsers(dir, DEFAULT_USERS);
  const max = secrets.max;

  beforeAll(async () => {
    // Generous limits per address and sign-in (identity-provider.spec.ts tests those): here every post comes from
    // 127.0.0.1, and one sign-in takes a dozen wrong passwords.
    const limits = { signInPostsPerAddress: 1_000, signInPostsPerInteraction: 1_000 };
    idp = await startIdentityProvider({ users, clients: [CLIENT], limits, now: () => clock, onRefused: (r) => refused.push(r) });
  });
  afterAll(() => idp.close());

  /** A new sign-in, as the inbox starts one: its interaction page, with the cookies that go with it. */
  async function begin(device?: string) {
    const verifier = randomBytes(32).toString('base64url');
    const query = new URLSearchParams({
      client_id: CLIENT.clientId,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: CLIENT.redirectUris[0],
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      state: randomBytes(8).toString('hex'),
    });
    const res = await fetch(`${idp.issuer}/auth?${query}`, { redirect: 'manual' });
    const location = res.headers.get('location')!;
    const uid = /\/interaction\/([\w-]+)/.exec(location)![1];
    const cookie = [...res.headers.getSetCookie().map((c) => c.split(';')[0]), ...(device ? [device] : [])].join('; ');
    const post = async (step: 'login' | 'code', form: Record<string, string>) => {
      const r = await fetch(`${idp.issuer}/interaction/${uid}/${step}`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
        redirect: 'manual',
      });
      const set = r.headers.getSetCookie().find((c) => c.startsWith('cs_idp_device='));
      return { status: r.status, text: await r.text(), device: set?.split(';')[0] };
    };
    return {
      uid,
      cookie,
      password: (user: string, password: string) => post('login', { username: user, password }),
      code: (code: string) => post('code', { code }),
    };
  }
  /** A code that is not max's at `clock` (nor a step beside it). */
  const wrongCode = () => {
    for (let n = 0; ; n++) {
      const code = String(n).padStart(6, '0');
      if (totpStep(max.totpSecret!, code, clock) === undefined) return code;
    }
  };

  it('a code signs in once: the same code again, in a new sign-in, is refused', async () => {
    const first = await begin();
    expect((await first.password('max', max.password)).status).toBe(200);
    const code = totpCode(max.totpSecret!, clock);
    expect((await first.code(code)).status).toBe(303);

    const second = await begin();
    expect((await second.password('max', max.password)).status).toBe(200);
    const replayed = await second.code(code);
    expect(replayed.status).toBe(401);
    expect(replayed.text).toContain('This code was used already');
    // The next step's code works.
    clock += 30_000;
    expect((await second.code(totpCode(max.totpSecret!, clock))).status).toBe(303);
  });

  it('five wrong codes lock the second factor for that user: the right code is refused too, in a new sign-in as well, until the window passes', async () => {
    clock += 60_000;
    const signIn = await begin();
    expect((await signIn.password('max', max.password)).status).toBe(200);
    // (The replay above counted as a failure; the right code after it cleared the count.)
    for (let i = 0; i < 5; i++) expect((await signIn.code(wrongCode())).status).toBe(401);
    const locked = await signIn.code(totpCode(max.totpSecret!, clock));
    expect(locked.status).toBe(429);
    expect(locked.text).toContain('Too many wrong attempts for this user');
    // Starting again does not reset it.
    const again = await begin();
    expect((await again.password('max', max.password)).status).toBe(200);
    expect((await again.code(totpCode(max.totpSecret!, clock))).status).toBe(429);
    // After the window (15 minutes from the oldest failure counted), the right code signs in.
    clock += 15 * 60_000;
    const later = await begin();
    expect((await later.password('max', max.password)).status).toBe(200);
    expect((await later.code(totpCode(max.totpSecret!, clock))).status).toBe(303);
  });

  it('ten wrong passwords for a name lock that name (the right password too) until the window passes; other users are not affected', async () => {
    const signIn = await begin();
    for (let i = 0; i < 10; i++) expect((await signIn.password('alice', `guess-${i}`)).status).toBe(401);
    const locked = await signIn.password('alice', secrets.alice.password);
    expect(locked.status).toBe(429);
    expect((await signIn.password('bob', secrets.bob.password)).status).toBe(303);
    clock += 15 * 60_000 + 1;
    expect((await (await begin()).password('alice', secrets.alice.password)).status).toBe(303);
  });

  it("does not lock a person out of a browser they signed in from before: others' guesses lock only the browsers nobody signed in from (sessions probe, 2026-12-06)", async () => {
    clock += 60 * 60_000;
    const carols = (await (await begin()).password('carol', secrets.carol.password)).device!;
    expect(carols).toMatch(/^cs_idp_device=/);
    // Anyone, anywhere: ten wrong passwords for carol.
    const attacker = await begin();
    for (let i = 0; i < 10; i++) expect((await attacker.password('carol', `guess-${i}`)).status).toBe(401);
    expect((await (await begin()).password('carol', secrets.carol.password)).status).toBe(429);
    // Carol's own browser signs her in.
    expect((await (await begin(carols)).password('carol', secrets.carol.password)).status).toBe(303);
    // A cookie altered, or carol's used for another name, is no browser of theirs.
    const altered = `${carols.slice(0, -3)}${carols.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    expect((await (await begin(altered)).password('carol', secrets.carol.password)).status).toBe(429);
    expect((await (await begin(carols)).password('alice', 'wrong')).status).toBe(401);
    // Guesses from carol's browser itself lock that browser too.
    const own = await begin(carols);
    for (let i = 0; i < 10; i++) expect((await own.password('carol', `guess-${i}`)).status).toBe(401);
    expect((await (await begin(carols)).password('carol', secrets.carol.password)).status).toBe(429);
  });

  it('reports, for the audit, a sign-in page asked of no sign-in under way, of another sign-in, or with a method it does not take', async () => {
    const before = refused.length;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const none = await fetch(`${idp.issuer}/interaction/zz7/login`, { method: 'POST', headers: form, body: 'username=alice&password=x' });
    expect(none.status).toBe(400);
    const mine = await begin();
    const other = await begin();
    const crossed = await fetch(`${idp.issuer}/interaction/${other.uid}/login`, {
      method: 'POST',
      headers: { ...form, cookie: mine.cookie },
      body: 'username=alice&password=x',
    });
    expect(crossed.status).toBe(400);
    expect((await fetch(`${idp.issuer}/interaction/${mine.uid}/login`, { method: 'PUT', headers: { cookie: mine.cookie } })).status).toBe(405);
    expect(refused.slice(before).map((r) => [r.status, r.method, r.path, r.user, r.reason])).toEqual([
      [400, 'POST', '/interaction/zz7/login', '', 'sign-in refused: no sign-in under way for this page (unknown, expired or ended)'],
      [400, 'POST', `/interaction/${other.uid}/login`, '', 'sign-in refused: the page belongs to another sign-in'],
      [405, 'PUT', `/interaction/${mine.uid}/login`, '', 'sign-in refused: PUT is not allowed here'],
    ]);
    expect(refused.slice(before).every((r) => r.source === '127.0.0.1')).toBe(true);
  });
});

describe('the sign-in throttle', () => {
  it("keeps at most maxTracked names that are no user's (the oldest goes first), so guessing many names cannot grow memory", () => {
    let now = 0;
    const throttle = new SignInThrottle({ maxPasswordFailures: 2, maxCodeFailures: 2, windowMs: 1_000, maxTracked: 3 }, () => now);
    for (const name of ['a', 'a', 'b', 'c', 'd']) throttle.failed('password', name, false);
    // `a` was locked (two failures) and then evicted as the oldest record when `d` came.
    expect(throttle.lockedUntil('password', 'a')).toBeUndefined();
    throttle.failed('password', 'd', false);
    expect(throttle.lockedUntil('password', 'd')).toBe(1_000);
    now = 1_001;
    expect(throttle.lockedUntil('password', 'd')).toBeUndefined();
  });

  it("keeps a user's lock however many made-up names are guessed after it (sessions probe, 2026-12-06)", () => {
    const throttle = new SignInThrottle({ maxPasswordFailures: 2, maxCodeFailures: 2, windowMs: 1_000, maxTracked: 3 }, () => 0);
    throttle.failed('password', 'max');
    throttle.failed('password', 'max');
    for (let i = 0; i < 100; i++) throttle.failed('password', `junk${i}`, false);
    expect(throttle.lockedUntil('password', 'max')).toBe(1_000);
    throttle.passed('max');
    expect(throttle.lockedUntil('password', 'max')).toBeUndefined();
  });

  it('accepts each code step once per user, and never an earlier one', () => {
    const throttle = new SignInThrottle();
    expect(throttle.useStep('max', 100)).toBe(true);
    expect(throttle.useStep('max', 100)).toBe(false);
    expect(throttle.useStep('max', 99)).toBe(false);
    expect(throttle.useStep('lena', 100)).toBe(true);
    expect(throttle.useStep('max', 101)).toBe(true);
  });
});
