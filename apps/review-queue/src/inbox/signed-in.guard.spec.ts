import { Body, Controller, Get, HttpCode, Module, Param, Post, Req, Res } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import pino from 'pino';
import { InMemoryBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { ApiRoute, IdentifierParam, PlatformModule, serve, TokenRegistry } from '@countersign/nest';
import type { ReviewerSession } from './session.store';
import { cookies, HttpRequest, HttpResponse, Sessions } from './sessions';
import { SignedInGuard } from './signed-in.guard';

// real: the guard in the platform's Nest HTTP app (AuthGuard, the body reader after the guards, the rejection filter
// with its audit), the in-memory bus; fake: the sessions (a cookie `cs_session=alice` is Alice's) and the routes.
const logger = pino({ level: 'silent' });
const alice = { id: 'alice', kind: 'human', roles: ['reviewer'], authMethod: 'oidc' } as ReviewerSession['principal'];
const touched: boolean[] = [];
const fakeSessions = {
  current: async (req: HttpRequest, touch = true) => {
    touched.push(touch);
    return cookies(req).cs_session === 'alice' ? ({ principal: alice } as ReviewerSession) : undefined;
  },
};

@Controller('reviews')
class InboxLikeController {
  @ApiRoute({ summary: 'A page', session: true, ok: { description: 'the page', contentType: 'text/html' } })
  @Get()
  page(@Res() res: HttpResponse) {
    res.statusCode = 303;
    res.setHeader('Location', '/auth/sign-in');
    res.end();
  }

  @ApiRoute({ summary: 'A card', session: true, ok: { description: 'the card', contentType: 'text/html' } })
  @Get(':actionId')
  card(@Param('actionId', new IdentifierParam('actionId')) actionId: string, @Res() res: HttpResponse) {
    res.statusCode = 200;
    res.end(actionId);
  }

  @ApiRoute({ summary: 'A decision', session: true, body: { type: 'object' }, ok: { description: 'decided' } })
  @Post(':actionId/decision')
  @HttpCode(200)
  decide(@Body() body: unknown, @Req() req: HttpRequest) {
    return { read: body, principal: req.principal?.id };
  }
}

describe('SignedInGuard: the inbox reads no body before its session is checked', () => {
  const bus = new InMemoryBus({ logger });
  const audited: TopicMap[typeof TOPICS.requestRejected][] = [];
  let url: string;
  let close: () => Promise<void>;
  const post = async (body: string, cookie?: string, type = 'application/json') => {
    const res = await fetch(`${url}/reviews/a-1/decision`, { method: 'POST', headers: { 'content-type': type, ...(cookie && { cookie }) }, body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    await bus.subscribe({ group: 'test.audit', handlers: { [TOPICS.requestRejected]: async (e) => void audited.push(e) } });
    @Module({
      imports: [PlatformModule.forRoot({ service: 'test', bus, logger, tokens: new TokenRegistry([]) })],
      controllers: [InboxLikeController],
      providers: [
        { provide: Sessions, useValue: fakeSessions },
        { provide: APP_GUARD, useClass: SignedInGuard },
      ],
    })
    class Root {}
    const running = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${running.port}`;
    close = () => running.app.close();
  });
  afterAll(() => close());

  it.each([
    ['malformed JSON', '{"decision":', 'application/json'],
    ['text/plain', 'approve', 'text/plain'],
  ])('answers a decision without a session 401 whatever its body (%s), not 400 or 415', async (_name, body, type) => {
    for (const cookie of [undefined, 'cs_session=forged']) {
      expect(await post(body, cookie, type)).toMatchObject({
        status: 401,
        body: { message: 'not signed in (or the session ended): sign in at /auth/sign-in' },
      });
    }
  });

  it('reads the body of a signed-in reviewer, refusing a malformed one 400 under her name, and does not touch her session', async () => {
    touched.length = 0;
    expect(await post('{"decision":"approve"}', 'cs_session=alice')).toEqual({ status: 200, body: { read: { decision: 'approve' }, principal: 'alice' } });
    const malformed = await post('{"decision":', 'cs_session=alice');
    expect(malformed.status).toBe(400);
    for (let i = 0; i < 100 && !audited.some((e) => e.data.status === 400); i++) await new Promise((r) => setTimeout(r, 20));
    expect(audited.find((e) => e.data.status === 400)?.actor).toMatchObject({ id: 'alice', authMethod: 'oidc' });
    // The route decides whether a request restarts the idle clock (a claim's renewal does not).
    expect(touched).toEqual([false, false]);
  });

  it('audits a page refused by its path pipe (400, before the route runs) under the person signed in, and anonymously without a session (red team, 2026-12-07)', async () => {
    const refusedWith = async (cookie?: string) => {
      const before = audited.length;
      const res = await fetch(`${url}/reviews/${'x'.repeat(300)}`, { headers: { ...(cookie && { cookie }) }, redirect: 'manual' });
      expect(res.status).toBe(400);
      for (let i = 0; i < 100 && audited.length === before; i++) await new Promise((r) => setTimeout(r, 20));
      return audited.slice(before).find((e) => e.data.status === 400);
    };
    expect((await refusedWith('cs_session=alice'))?.actor).toMatchObject({ id: 'alice', authMethod: 'oidc' });
    expect((await refusedWith())?.actor).toMatchObject({ id: 'anonymous' });
  });

  it('leaves a page to its route: without a session it sends the browser to sign in', async () => {
    const res = await fetch(`${url}/reviews`, { redirect: 'manual' });
    expect(res.status).toBe(303);
  });
});
