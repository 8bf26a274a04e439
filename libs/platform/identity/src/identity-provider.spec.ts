// real: the local identity provider (oidc-provider) on 127.0.0.1, its sign-in pages and scrypt passwords, driven over
// HTTP as a browser would, from two loopback addresses (127.0.0.1 and 127.0.0.2); fake: the clock (the limits' windows).
import { createHash, randomBytes } from 'node:crypto';
import { IncomingHttpHeaders, request } from 'node:http';
import { connect, Socket } from 'node:net';
import { DEFAULT_CONNECTION_TIMEOUTS, IdentityProviderOptions, RunningIdentityProvider, SignInRefusal, startIdentityProvider } from './identity-provider';
import { hashPassword, IdentityUser } from './users';
import { DEVICE_COOKIE as DEVICE } from './device-cookies';

const CLIENT = { clientId: 'inbox', clientSecret: 'inbox-secret', redirectUris: ['http://127.0.0.1:1/cb'], postLogoutRedirectUris: [] };
const USERS: IdentityUser[] = [{ sub: 'alice', name: 'Alice', roles: ['reviewer'], password: hashPassword('alice-pw') }];

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

describe('the local identity provider stays available under a flood from one address (red team, H1, H2)', () => {
  let clock = Date.parse('2026-12-01T10:00:00.000Z');
  const running: RunningIdentityProvider[] = [];
  afterAll(() => Promise.all(running.map((r) => r.close())));

  async function start(options: Partial<IdentityProviderOptions>) {
    const refused: SignInRefusal[] = [];
    const idp = await startIdentityProvider({ users: USERS, clients: [CLIENT], now: () => clock, onRefused: (r) => refused.push(r), ...options });
    running.push(idp);

    /** One request from the loopback address `from` (node:http: fetch cannot choose it). */
    const send = (from: string, path: string, init: { method?: string; cookie?: string; form?: Record<string, string> } = {}) =>
      new Promise<Answer>((resolve, reject) => {
        const body = init.form ? new URLSearchParams(init.form).toString() : undefined;
        const headers = { ...(init.cookie && { cookie: init.cookie }), ...(body && { 'content-type': 'application/x-www-form-urlencoded' }) };
        const req = request(`${idp.issuer}${path}`, { method: init.method ?? 'GET', localAddress: from, headers }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
        });
        req.on('error', reject);
        req.end(body);
      });

    /** An authorization request as the inbox sends the browser to make (PKCE, a random state). */
    const authorize = (from: string, cookie?: string) => {
      const query = new URLSearchParams({
        client_id: CLIENT.clientId,
        response_type: 'code',
        scope: 'openid',
        redirect_uri: CLIENT.redirectUris[0],
        code_challenge: createHash('sha256').update(randomBytes(32)).digest('base64url'),
        code_challenge_method: 'S256',
        state: randomBytes(8).toString('hex'),
      });
      return send(from, `/auth?${query}`, { cookie });
    };

    /** A new sign-in from `from`: its interaction, with the cookies that go with it. */
    const begin = async (from = '127.0.0.1') => {
      const res = await authorize(from);
      expect(res.status).toBe(303);
      const uid = /\/interaction\/([\w-]+)/.exec(res.headers.location!)![1];
      const cookie = (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
      return {
        uid,
        cookie,
        password: (username: string, password: string) => send(from, `/interaction/${uid}/login`, { method: 'POST', cookie, form: { username, password } }),
      };
    };
    return { refused, send, authorize, begin, port: Number(new URL(idp.issuer).port) };
  }

  it('closes a connection past the connections an address may hold, unread, reports it, and still serves another address', async () => {
    const { refused, authorize, port } = await start({ limits: { connectionsPerAddress: 2 } });
    const held: Socket[] = [];
    const open = (from: string) =>
      new Promise<Socket>((resolve) => {
        const s = connect({ port, host: '127.0.0.1', localAddress: from }, () => resolve(s));
        s.on('error', () => undefined);
        held.push(s);
      });
    try {
      await open('127.0.0.1');
      await open('127.0.0.1');
      const third = await open('127.0.0.1');
      await new Promise<void>((r) => (third.destroyed ? r() : third.once('close', () => r())));
      expect(refused).toEqual([
        expect.objectContaining({ status: 429, reason: 'too many connections from this address: at most 2 open at once', source: '127.0.0.1' }),
      ]);
      expect((await authorize('127.0.0.2')).status).toBe(303);
    } finally {
      for (const s of held) s.destroy();
    }
  });

  it('answers 429 with Retry-After to authorizations past the limit from one address, reports each, and still serves another address', async () => {
    const { refused, authorize } = await start({ limits: { authorizationsPerAddress: 3 } });
    for (let i = 0; i < 3; i++) expect((await authorize('127.0.0.1')).status).toBe(303);
    clock += 15_000;
    const over = await authorize('127.0.0.1');
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBe('45');
    expect(over.text).toContain('Too many sign-ins were started from your address: try again in 45 seconds.');
    expect(refused.map((r) => [r.status, r.method, r.path, r.user, r.source, r.reason])).toEqual([
      [429, 'GET', '/auth', '', '127.0.0.1', 'sign-in refused: too many sign-ins started from this address'],
    ]);
    // Another address has its own count; this one's comes back with the next window.
    expect((await authorize('127.0.0.2')).status).toBe(303);
    clock += 45_000;
    expect((await authorize('127.0.0.1')).status).toBe(303);
  });

  it('counts authorizations and requests from all addresses together too: a flood from many addresses is refused, and reported (red team, 2026-12-06)', async () => {
    const { refused, authorize, send } = await start({ limits: { authorizationsPerAddress: 2, authorizationsInAll: 3, requestsInAll: 5 } });
    expect((await authorize('127.0.0.1')).status).toBe(303);
    expect((await authorize('127.0.0.2')).status).toBe(303);
    expect((await authorize('127.0.0.3')).status).toBe(303);
    // A fourth address, under its own count, is over the count in all.
    const over = await authorize('127.0.0.4');
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBe('60');
    expect(over.text).toContain('Too many sign-ins are being started right now: try again in 60 seconds.');
    // Five requests so far (four authorizations and this one); the sixth, from yet another address, is over.
    expect((await send('127.0.0.5', '/jwks')).status).toBe(200);
    const busy = await send('127.0.0.6', '/.well-known/openid-configuration');
    expect(busy.status).toBe(429);
    expect(busy.text).toContain('Too many requests right now: try again in 60 seconds.');
    expect(refused.map((r) => [r.status, r.path, r.source, r.reason])).toEqual([
      [429, '/auth', '127.0.0.4', 'sign-in refused: too many sign-ins started from all addresses'],
      [429, '/.well-known/openid-configuration', '127.0.0.6', 'refused: too many requests from all addresses'],
    ]);
    clock += 60_000;
    expect((await authorize('127.0.0.4')).status).toBe(303);
  });

  it('checks the password of a browser signing in as the person it signed in as before in a lane of its own: posts under random names do not fill it (red team, 2026-12-08)', async () => {
    const { begin, send } = await start({ limits: { hashConcurrency: 1, hashQueue: 1, signInPostsPerAddress: 1_000, authorizationsPerAddress: 1_000 } });
    const first = await (await begin('127.0.0.1')).password('alice', 'alice-pw');
    expect(first.status).toBe(303);
    const cookie = (first.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${DEVICE}=`))!.split(';')[0];
    const flood = await Promise.all(Array.from({ length: 12 }, (_, i) => begin(`127.0.2.${i + 1}`)));
    for (let round = 0; round < 3; round++) {
      const others = flood.map((f) => f.password(`nobody-${randomBytes(4).toString('hex')}`, 'guess'));
      // Alice's browser, with its device cookie, posting in the middle of them.
      const mine = await begin('127.0.0.1');
      const hers = send('127.0.0.1', `/interaction/${mine.uid}/login`, {
        method: 'POST',
        cookie: `${mine.cookie}; ${cookie}`,
        form: { username: 'alice', password: 'alice-pw' },
      });
      const answers = await Promise.all(others);
      // The shared lane was full: some of the others were refused.
      expect(answers.some((a) => a.status === 503)).toBe(true);
      expect((await hers).status).toBe(303);
    }
  });

  it("does not count a registered client's own code exchange by its address: callbacks replayed at the review queue used up its count (red team, 2026-12-08)", async () => {
    const { send } = await start({ limits: { requestsPerAddress: 3 } });
    const exchange = (secret: string) =>
      new Promise<number>((resolve, reject) => {
        const body = new URLSearchParams({ grant_type: 'authorization_code', code: 'made-up', redirect_uri: CLIENT.redirectUris[0] }).toString();
        const req = request(
          `${running.at(-1)!.issuer}/token`,
          {
            method: 'POST',
            localAddress: '127.0.0.1',
            headers: {
              authorization: `Basic ${Buffer.from(`${encodeURIComponent(CLIENT.clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
              'content-type': 'application/x-www-form-urlencoded',
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode!));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    // Ten exchanges with the client's credentials: refused for the made-up code (400), never for the count.
    for (let i = 0; i < 10; i++) expect(await exchange(CLIENT.clientSecret)).toBe(400);
    // The address's own count is untouched by them; a wrong secret is counted as any request.
    expect((await send('127.0.0.1', '/jwks')).status).toBe(200);
    expect(await exchange('wrong')).toBe(401);
    expect(await exchange('wrong')).toBe(401);
    expect(await exchange('wrong')).toBe(429);
  });

  it('leaves a browser someone signed in from out of the counts in all: a flood from many addresses does not keep them out (red team, 2026-12-08)', async () => {
    const { begin, authorize, send } = await start({ limits: { authorizationsPerAddress: 5, authorizationsInAll: 3, requestsInAll: 12 } });
    // Alice signs in once from this browser: it is given its device cookie.
    const signedIn = await (await begin('127.0.0.1')).password('alice', 'alice-pw');
    expect(signedIn.status).toBe(303);
    const device = (signedIn.headers['set-cookie'] ?? []).find((c) => c.startsWith(`${DEVICE}=`))!;
    expect(device).toMatch(/; Path=\/;/);
    const cookie = device.split(';')[0];
    // A flood from many addresses uses up the counts in all.
    for (const from of ['127.0.0.2', '127.0.0.3', '127.0.0.4']) await authorize(from);
    expect((await authorize('127.0.0.5')).status).toBe(429);
    for (let i = 6; i < 20; i++) await send(`127.0.0.${i}`, '/jwks');
    expect((await send('127.0.0.21', '/jwks')).status).toBe(429);
    // Alice's browser, from a new address too, is still answered; a browser with a forged cookie is not.
    expect((await authorize('127.0.0.30', cookie)).status).toBe(303);
    expect((await send('127.0.0.31', '/jwks', { cookie })).status).toBe(200);
    const forged = `${cookie.slice(0, -4)}AAAA`;
    expect((await authorize('127.0.0.32', forged)).status).toBe(429);
    // Counted on its own: past the count of one address, it is refused too.
    for (let i = 0; i < 4; i++) await authorize(`127.0.0.${40 + i}`, cookie);
    expect((await authorize('127.0.0.50', cookie)).status).toBe(429);
  });

  it("reports what the provider's endpoints refuse (a wrong client secret, an unknown client) and a form too large (red team, 2026-12-06)", async () => {
    const { refused, send, begin } = await start({});
    const basic = `Basic ${Buffer.from(`${CLIENT.clientId}:wrong`).toString('base64')}`;
    const token = await new Promise<number>((resolve, reject) => {
      const body = new URLSearchParams({ grant_type: 'authorization_code', code: 'x', redirect_uri: CLIENT.redirectUris[0] }).toString();
      const req = request(
        `${running.at(-1)!.issuer}/token`,
        { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' } },
        (res) => {
          res.resume();
          resolve(res.statusCode!);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(token).toBe(401);
    expect((await send('127.0.0.1', '/auth?client_id=evil&response_type=code&scope=openid')).status).toBe(400);
    const sign = await begin();
    const large = await sign.password('alice', 'x'.repeat(9000));
    expect(large.status).toBe(413);
    expect(refused.map((r) => [r.status, r.path, r.source, r.reason])).toEqual([
      [401, '/token', '127.0.0.1', 'refused: invalid_client: client authentication failed'],
      [400, '/auth', '127.0.0.1', 'refused: invalid_client: client is invalid'],
      [413, `/interaction/${sign.uid}/login`, '127.0.0.1', 'sign-in refused: the form is too large: at most 8192 characters'],
    ]);
  });

  it('answers 429 past the requests an address may send to any endpoint (token, user info, discovery), reports each by endpoint name', async () => {
    const { refused, send } = await start({ limits: { requestsPerAddress: 3 } });
    for (let i = 0; i < 3; i++) expect((await send('127.0.0.1', '/.well-known/openid-configuration')).status).toBe(200);
    clock += 20_000;
    const token = await send('127.0.0.1', '/token', { method: 'POST', form: { grant_type: 'authorization_code', code: 'x' } });
    expect(token.status).toBe(429);
    expect(token.headers['retry-after']).toBe('40');
    expect(token.text).toContain('Too many requests from your address: try again in 40 seconds.');
    const odd = await send('127.0.0.1', '/4111111111111111?x=1');
    expect(odd.status).toBe(429);
    expect(refused.map((r) => [r.status, r.method, r.path, r.source, r.reason])).toEqual([
      [429, 'POST', '/token', '127.0.0.1', 'refused: too many requests from this address'],
      [429, 'GET', '(another path)', '127.0.0.1', 'refused: too many requests from this address'],
    ]);
    // Another address has its own count; this one's comes back with the next window.
    expect((await send('127.0.0.2', '/.well-known/openid-configuration')).status).toBe(200);
    clock += 40_000;
    expect((await send('127.0.0.1', '/jwks')).status).toBe(200);
  });

  it('keeps at most maxPerModel sign-ins under way: past it the oldest is forgotten, the newest signs in', async () => {
    const { begin } = await start({ storage: { maxPerModel: 3 } });
    const started = [];
    for (let i = 0; i < 6; i++) started.push(await begin());
    const oldest = await started[0].password('alice', 'alice-pw');
    expect(oldest.status).toBe(400);
    expect(oldest.text).toContain('Sign-in failed');
    expect((await started[5].password('alice', 'alice-pw')).status).toBe(303);
  });

  it('refuses password posts past the limit per sign-in (429), a new user name each time or not; a new sign-in is answered', async () => {
    const { refused, begin } = await start({ limits: { signInPostsPerInteraction: 3 } });
    const signIn = await begin();
    for (let i = 0; i < 3; i++) expect((await signIn.password(`nobody-${randomBytes(4).toString('hex')}`, 'guess')).status).toBe(401);
    // Even the right password: this sign-in has had its tries for the minute.
    const over = await signIn.password('alice', 'alice-pw');
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBe('60');
    expect(over.text).toContain('Too many attempts for this sign-in: try again in 60 seconds.');
    expect(refused.at(-1)).toMatchObject({
      status: 429,
      path: `/interaction/${signIn.uid}/login`,
      reason: 'sign-in refused: too many attempts for this sign-in',
    });
    expect((await (await begin()).password('alice', 'alice-pw')).status).toBe(303);
  });

  it('refuses sign-in posts past the limit per address (429), across sign-ins; another address is answered', async () => {
    const { refused, begin } = await start({ limits: { signInPostsPerAddress: 4 } });
    for (let i = 0; i < 2; i++) {
      const signIn = await begin('127.0.0.1');
      for (let j = 0; j < 2; j++) expect((await signIn.password(`nobody-${i}-${j}`, 'guess')).status).toBe(401);
    }
    const fresh = await begin('127.0.0.1');
    const over = await fresh.password('alice', 'alice-pw');
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBe('60');
    expect(over.text).toContain('Too many sign-in attempts from your address');
    expect(refused.at(-1)).toMatchObject({ status: 429, source: '127.0.0.1', reason: 'sign-in refused: too many sign-in attempts from this address' });
    expect((await (await begin('127.0.0.2')).password('alice', 'alice-pw')).status).toBe(303);
    clock += 60_000;
    expect((await fresh.password('alice', 'alice-pw')).status).toBe(303);
  });
});

describe('the local identity provider at its HTTP edge (red team, 2026-12-05)', () => {
  let idp: RunningIdentityProvider;
  const refused: SignInRefusal[] = [];
  beforeAll(async () => {
    idp = await startIdentityProvider({ users: USERS, clients: [CLIENT], onRefused: (r) => refused.push(r) });
  });
  afterAll(() => idp.close());

  /** The raw bytes the server answers `text` with, until it closes the connection. */
  const raw = (text: string) =>
    new Promise<string>((resolve, reject) => {
      const { port } = new URL(idp.issuer);
      const socket: Socket = connect(Number(port), '127.0.0.1', () => socket.write(text));
      let received = '';
      socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });

  it('names only its issuer in its discovery document, whatever Host the request says (it named http://evil.example/auth)', async () => {
    const answer = await raw('GET /.well-known/openid-configuration HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n');
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    expect(body.issuer).toBe(idp.issuer);
    expect(body.authorization_endpoint).toBe(`${idp.issuer}/auth`);
    expect(body.jwks_uri).toBe(`${idp.issuer}/jwks`);
    expect(answer).not.toContain('evil.example');
  });

  it('answers CONNECT 405 as JSON, closes the connection, and reports it (Node dropped it without a word)', async () => {
    const answer = await raw('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 405 Method Not Allowed');
    expect(answer).toContain('\r\nAllow: GET, HEAD, POST\r\n');
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({
      statusCode: 405,
      error: 'Method Not Allowed',
      message: 'CONNECT is not allowed: this server is not a proxy and opens no tunnels',
    });
    expect(refused).toContainEqual(expect.objectContaining({ status: 405, method: 'CONNECT', source: '127.0.0.1' }));
  });
});

describe("the local identity provider's connection timeouts (red team, 2026-12-06: 22,000 connections trickling headers took every descriptor)", () => {
  // Short timeouts, so that the test waits well under a second for each: the defaults (20 s, 30 s, 10 s) work the same.
  const timeouts = { headersMs: 300, requestMs: 600, keepAliveMs: 300, checkEveryMs: 100 };
  let idp: RunningIdentityProvider;
  beforeAll(async () => {
    idp = await startIdentityProvider({ users: USERS, clients: [CLIENT], timeouts });
  });
  afterAll(() => idp.close());

  /** A connection that sends `parts` (the next one every 100 ms, until it is closed), and what it received until then. */
  const trickle = (parts: string[]) =>
    new Promise<{ received: string; closedAfterMs: number }>((resolve, reject) => {
      const { port } = new URL(idp.issuer);
      const opened = Date.now();
      const socket: Socket = connect(Number(port), '127.0.0.1', () => {
        const next = (i: number) => {
          if (i >= parts.length || socket.destroyed) return;
          socket.write(parts[i]);
          setTimeout(() => next(i + 1), 100).unref();
        };
        next(0);
      });
      let received = '';
      socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
      socket.on('close', () => resolve({ received, closedAfterMs: Date.now() - opened }));
      socket.on('error', reject);
    });

  it('closes a connection whose headers do not all arrive in time, however it trickles them, answering 408', async () => {
    // A header line every 100 ms, for 30 s, unless the server closes the connection first (Jest's timeout would fail it).
    const lines = ['GET /.well-known/openid-configuration HTTP/1.1\r\n', ...Array.from({ length: 300 }, (_, i) => `X-Slow-${i}: a\r\n`)];
    const { received, closedAfterMs } = await trickle(lines);
    expect(received.split('\r\n')[0]).toBe('HTTP/1.1 408 Request Timeout');
    // Closed for the headers' deadline, not for the whole request's (at least 300 ms, and not after all the lines).
    expect(closedAfterMs).toBeGreaterThanOrEqual(timeouts.headersMs);
    expect(closedAfterMs).toBeLessThan(300 * 100);
  }, 30_000);

  it('closes a kept-alive connection left idle after its answer', async () => {
    const { received, closedAfterMs } = await trickle(['GET /.well-known/openid-configuration HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n']);
    // One answer, kept alive, then closed by the server on its own (the client never asked it to), on the timeout given
    // (the default's 10 s would not be reached yet).
    expect(received.match(/^HTTP\/1\.1 /gm)).toEqual(['HTTP/1.1 ']);
    expect(received.split('\r\n')[0]).toBe('HTTP/1.1 200 OK');
    expect(received).toContain('\r\nConnection: keep-alive\r\n');
    expect(closedAfterMs).toBeLessThan(DEFAULT_CONNECTION_TIMEOUTS.keepAliveMs);
  }, 30_000);
});
