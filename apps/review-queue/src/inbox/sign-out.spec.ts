import { connect } from 'node:net';
import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import pino from 'pino';
import { InMemoryBus } from '@countersign/bus';
import { PlatformModule, serve, TokenRegistry } from '@countersign/nest';
import { ClaimService } from '../claims/claim.service';
import { InMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import { reviewItem } from '../review-item/review-item.suite';
import { INBOX_OPTIONS, REVIEW_ITEMS } from '../tokens';
import { createInMemorySessionStore } from './in-memory-session.store';
import { InboxOptions } from './inbox.options';
import { OidcSignIn } from './oidc-sign-in';
import { HttpResponse, Sessions } from './sessions';
import { SignedInGuard } from './signed-in.guard';
import { SignInController } from './sign-in.controller';

// real: the sign-in controller in the platform's Nest HTTP app (guards, the body reader, the rejection filter), Sessions
// with the in-memory store, the inbox's guard; fake: the identity provider (its sign-out address).
const logger = pino({ level: 'silent' });
const END_SESSION = 'http://idp.invalid/end-session';

/** Sends `request` as it is, and everything the server writes back until it closes the connection: its status, headers and body. */
function untilClosed(port: number, request: string): Promise<{ text: string; status: number; connection?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const head = text.slice(0, text.indexOf('\r\n\r\n'));
      const connection = /^connection: *(.*)$/im.exec(head)?.[1];
      resolve({ text, status: Number(text.split(' ')[1]), connection, body: text.slice(head.length + 4) });
    });
  });
}

describe('POST /auth/sign-out reads no body', () => {
  let port: number;
  let sessions: Sessions;
  let close: () => Promise<void>;

  /** A signed-in session: its cookie and CSRF token. */
  const signedIn = async () => {
    const headers: Record<string, unknown> = {};
    const res = { setHeader: (k: string, v: unknown) => (headers[k.toLowerCase()] = v), getHeader: (k: string) => headers[k.toLowerCase()] };
    const session = await sessions.open(res as unknown as HttpResponse, {
      sub: 'alice',
      name: 'Alice',
      roles: ['reviewer'],
      amr: ['pwd'],
      idToken: 'id.token',
    });
    return { cookie: String((headers['set-cookie'] as string[])[0]).split(';')[0], csrf: session.csrf };
  };
  const head = (s: { cookie: string; csrf: string }, length: number, extra = '') =>
    `POST /auth/sign-out HTTP/1.1\r\nHost: x\r\nCookie: ${s.cookie}\r\nX-CSRF-Token: ${s.csrf}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;

  const items = new InMemoryReviewItemRepository();

  beforeAll(async () => {
    const options: InboxOptions = {
      issuer: 'http://idp.invalid',
      clientId: 'inbox',
      clientSecret: 'secret',
      publicUrl: 'http://127.0.0.1:8082',
      sessions: createInMemorySessionStore(),
    };
    @Module({
      imports: [PlatformModule.forRoot({ service: 'review-queue', bus: new InMemoryBus({ logger }), logger, tokens: new TokenRegistry([]) })],
      controllers: [SignInController],
      providers: [
        { provide: INBOX_OPTIONS, useValue: options },
        Sessions,
        {
          provide: OidcSignIn,
          useValue: {
            signOutUrl: async () => END_SESSION,
            // The provider's answer, checked: alice again (a step-up in the same browser, or a sign-in in a new tab).
            finish: async () => ({ sub: 'alice', name: 'Alice', roles: ['reviewer'], amr: ['pwd', 'mfa'], idToken: 'id.token.2' }),
          },
        },
        { provide: APP_GUARD, useClass: SignedInGuard },
        { provide: REVIEW_ITEMS, useValue: items },
        ClaimService,
      ],
    })
    class Root {}
    const running = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
    port = running.port;
    sessions = running.app.get(Sessions);
    close = () => running.app.close();
  });
  afterAll(() => close());

  /** A sign-in started (state `s`): its sealed cookie, as the callback is sent it. */
  const pendingSignIn = async () => {
    const headers: Record<string, unknown> = {};
    const res = { setHeader: (k: string, v: unknown) => (headers[k.toLowerCase()] = v), getHeader: (k: string) => headers[k.toLowerCase()] };
    await sessions.remember(res as unknown as HttpResponse, {
      kind: 'pending',
      state: 's',
      nonce: 'n',
      codeVerifier: 'v',
      returnTo: '/reviews',
      startedAt: Date.now(),
    });
    return String((headers['set-cookie'] as string[]).at(-1)).split(';')[0];
  };

  it('a sign-in again in the same browser ends the session it replaces, so sign-out leaves none (red team, 2026-12-07)', async () => {
    const first = await signedIn();
    const pending = await pendingSignIn();
    const callback = await untilClosed(
      port,
      `GET /auth/callback?code=c&state=s HTTP/1.1\r\nHost: x\r\nCookie: ${first.cookie}; ${pending}\r\nConnection: close\r\n\r\n`,
    );
    expect(callback.status).toBe(200);
    const second = /set-cookie: *(cs_session=[^;\r\n]+)/gi.exec(callback.text.replace(/set-cookie: *cs_session=;[^\r\n]*\r\n/gi, ''))?.[1];
    expect(second).toBeDefined();
    expect(second).not.toBe(first.cookie);
    const at = (cookie: string) => sessions.current({ method: 'GET', url: '/reviews', headers: { cookie } }, false);
    // The old session's id decides nothing any more; the new one is alice's.
    expect(await at(first.cookie)).toBeUndefined();
    expect((await at(second!))?.principal.id).toBe('alice');
  });

  it('frees the items the person held claimed at once, not when the leases run out (red team, 2026-12-08)', async () => {
    const now = Date.now();
    await items.add(reviewItem('held-1', new Date(now + 3_600_000).toISOString()));
    await items.claim('held-1', { by: 'alice', name: 'Alice', until: new Date(now + 300_000).toISOString() }, new Date(now));
    expect(await items.claimsHeldBy('alice', new Date())).toEqual(['held-1']);
    const s = await signedIn();
    const out = await untilClosed(port, head(s, 0, 'Connection: close\r\n'));
    expect(out.status).toBe(200);
    expect(await items.claimsHeldBy('alice', new Date())).toEqual([]);
  });

  it('takes 30 answers with a sign-in a minute from one address, each a code exchange at the provider; answers without one cost nothing and are not counted (red team, 2026-12-08)', async () => {
    const answer = (cookie = '') =>
      untilClosed(port, `GET /auth/callback?code=made-up&state=s HTTP/1.1\r\nHost: x\r\n${cookie && `Cookie: ${cookie}\r\n`}Connection: close\r\n\r\n`);
    // Forty without a sign-in: 400, none counted.
    for (let i = 0; i < 40; i++) expect((await answer()).status).toBe(400);
    // With one each: taken (this file's sign-in before counts too), then 429.
    const statuses: number[] = [];
    for (let i = 0; i < 31; i++) statuses.push((await answer(await pendingSignIn())).status);
    expect(statuses.filter((st) => st === 200).length).toBeGreaterThanOrEqual(29);
    expect(statuses.at(-1)).toBe(429);
    expect((await answer(await pendingSignIn())).body).toContain('too many sign-in answers from this address: start again in a minute');
  });

  it('signs out whatever body comes with it: a malformed one is not read (it was a 400, and the session stayed)', async () => {
    const s = await signedIn();
    const res = await untilClosed(port, `${head(s, 1, 'Connection: close\r\n')}{`);
    expect(res).toMatchObject({ status: 200, body: JSON.stringify({ signedOut: true, next: END_SESSION }) });
    expect(await sessions.current({ method: 'GET', url: '/reviews', headers: { cookie: s.cookie } })).toBeUndefined();
  });

  it('answers at once while a body is still arriving, and closes the connection rather than wait for the rest', async () => {
    // Red team (2026-12-04): a slow body held the public route until the request timeout (300 s). Here 10 of 1,000
    // bytes come, then nothing: the answer and the close come all the same.
    const s = await signedIn();
    const res = await untilClosed(port, `${head(s, 1000)}${' '.repeat(10)}`);
    expect(res).toMatchObject({ status: 200, connection: 'close', body: JSON.stringify({ signedOut: true, next: END_SESSION }) });
  });

  it('answers Expect: 100-continue without a 100 (no body is wanted), and still checks the CSRF token', async () => {
    const s = await signedIn();
    const forged = await untilClosed(port, head({ ...s, csrf: 'x'.repeat(s.csrf.length) }, 7, 'Expect: 100-continue\r\n'));
    expect(forged).toMatchObject({ status: 403, connection: 'close' });
    const own = await untilClosed(port, head(s, 7, 'Expect: 100-continue\r\n'));
    expect(own.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(own).toMatchObject({ connection: 'close', body: JSON.stringify({ signedOut: true, next: END_SESSION }) });
  });
});
