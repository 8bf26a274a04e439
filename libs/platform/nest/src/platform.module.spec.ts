import { Controller, Get, Injectable, Module, NotFoundException, Param } from '@nestjs/common';
import { connect } from 'node:net';
import pino from 'pino';
import { DependencyUnavailableError, HandlerMap, InMemoryBus, StoreDamagedError } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { BusConsumer } from './bus-consumer';
import { NotFoundAnswer, PlatformModule, ReadinessCheck, serve } from './platform.module';
import { sha256Hex, TokenRegistry } from './auth';

// real: the platform module (rejection filter, /readyz, BusConsumer) in a Nest HTTP app, the in-memory bus; fake:
// the readiness checks and the failures, set by each test.
const logger = pino({ level: 'silent' });
/** What `GET /things/held` waits for before it answers (a test holds a request in flight with it). */
let heldAnswer: Promise<void> = Promise.resolve();
/** Told when `GET /things/held` has begun (the request is in the handler, not on its way). */
let heldEntered: () => void = () => undefined;

type Running = { url: string; bus: InMemoryBus; audited: () => TopicMap[typeof TOPICS.requestRejected][]; handled: string[]; close(): Promise<void> };

async function start(readiness: ReadinessCheck[]): Promise<Running> {
  const bus = new InMemoryBus({ logger });
  const audited: TopicMap[typeof TOPICS.requestRejected][] = [];
  await bus.subscribe({ group: 'test.audit', handlers: { [TOPICS.requestRejected]: async (e) => void audited.push(e) } });
  const handled: string[] = [];

  @Controller('things')
  class ThingsController {
    @Get('held')
    async held() {
      heldEntered();
      await heldAnswer;
      return { ok: true };
    }
    @Get('unknown')
    unknown() {
      throw new NotFoundAnswer('no thing unknown');
    }
    @Get('redis-down')
    redisDown() {
      throw Object.assign(new Error('Reached the max retries per request limit (which is 2).'), { name: 'MaxRetriesPerRequestError' });
    }
    @Get('kafka-down')
    kafkaDown() {
      throw new DependencyUnavailableError('Kafka did not take the event within 3000 ms');
    }
    @Get('damaged')
    damaged() {
      throw new StoreDamagedError('/home/ops/audit/audit.jsonl: entry 7 changed', 'the store was changed outside Countersign; an operator restores it');
    }
    @Get('bug')
    bug() {
      throw new Error('a bug with a secret detail');
    }
    @Get('by-id/:id')
    byId(@Param('id') id: string) {
      return { id };
    }
    @Get('gone')
    gone() {
      throw new NotFoundException('no such route, as a prober would see it');
    }
  }

  @Injectable()
  class ProposedConsumer extends BusConsumer {
    protected readonly group = 'test.decide';
    protected handlers(): HandlerMap {
      return { [TOPICS.actionProposed]: async (e) => void handled.push(e.subject) };
    }
  }

  @Module({
    imports: [
      PlatformModule.forRoot({
        service: 'test',
        bus,
        logger,
        tokens: new TokenRegistry([{ principal: 'reader', kind: 'agent', roles: ['reader'], tokenSha256: sha256Hex('reader-token') }]),
        readiness,
      }),
    ],
    controllers: [ThingsController],
    providers: [ProposedConsumer],
  })
  class Root {}
  const { app, port } = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
  return { url: `http://127.0.0.1:${port}`, bus, audited: () => audited, handled, close: () => app.close() };
}

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, retryAfter: res.headers.get('retry-after') };
};

const until = async (check: () => boolean, what: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('serve()', () => {
  it('leaves SIGINT and SIGTERM to its caller, who closes the app once (Nest ran its hooks a second time, concurrently, and raised the signal again)', async () => {
    const before = { SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') };
    const running = await start([]);
    try {
      expect({ SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM') }).toEqual(before);
    } finally {
      await running.close();
    }
  });
});

describe('serve(): a stop', () => {
  it('keeps no connection open: a client that polls on a keep-alive connection busy at the stop cannot hold it (red team, 2026-12-04)', async () => {
    const running = await start([]);
    const port = Number(new URL(running.url).port);
    let letGo!: () => void;
    heldAnswer = new Promise((r) => (letGo = r));
    const entered = new Promise<void>((r) => (heldEntered = r));
    // A request in flight on a keep-alive connection when the stop begins: in its handler, not on its way (a loaded
    // machine had not delivered it 50 ms later, and the stop refused it).
    const first = fetch(`${running.url}/things/held`);
    await entered;
    const closing = running.close().then(() => 'closed' as const);
    // Once the server takes no new connection, the request in flight is answered; the client keeps polling on its
    // connection for as long as the server answers it.
    for (;;) {
      const refused = await new Promise<boolean>((r) => {
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => (s.destroy(), r(false)));
        s.once('error', () => r(true));
      });
      if (refused) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    letGo();
    expect((await first).status).toBe(200);
    let polls = 0;
    let stop = false;
    const polling = (async () => {
      while (!stop) {
        const res = await fetch(`${running.url}/healthz`).catch(() => undefined);
        if (!res) break;
        polls += 1;
        await res.arrayBuffer();
      }
    })();
    // Well inside the 5 s after which a stop closes whatever is still open: the connection ended with its answer.
    const outcome = await Promise.race([closing, new Promise<'still open'>((r) => setTimeout(() => r('still open'), 3_000))]);
    stop = true;
    await polling;
    heldAnswer = Promise.resolve();
    expect({ outcome, pollsAnswered: polls < 5 }).toEqual({ outcome: 'closed', pollsAnswered: true });
  }, 30_000);
});

describe('PlatformModule', () => {
  describe('answers', () => {
    let running: Running;
    beforeAll(async () => (running = await start([])));
    afterAll(() => running.close());

    it('an unavailable dependency is a 503 with Retry-After (a retry may succeed), not a 500, and is audited as a refusal; a bug is a 500, not audited', async () => {
      const before = running.audited().length;
      for (const path of ['redis-down', 'kafka-down']) {
        const res = await get(`${running.url}/things/${path}`);
        expect(res).toMatchObject({ status: 503, retryAfter: '5', body: { message: 'a dependency is unavailable; retry later' } });
      }
      await until(() => running.audited().length >= before + 2, 'the audit of both 503s');
      const bug = await get(`${running.url}/things/bug`);
      expect(bug).toMatchObject({ status: 500, retryAfter: null, body: { message: 'internal error' } });
      // The 500 would be audited by now if it were: the two 503s before it were.
      expect(await get(`${running.url}/things/gone`)).toMatchObject({ status: 404 });
      await until(() => running.audited().length >= before + 3, 'the audit of the 404 after the 500');
      expect(
        running
          .audited()
          .slice(before)
          .map((e) => [e.data.path, e.data.status, e.data.reason]),
      ).toEqual([
        ['/things/redis-down', 503, 'a dependency is unavailable; retry later'],
        ['/things/kafka-down', 503, 'a dependency is unavailable; retry later'],
        ['/things/gone', 404, expect.any(String)],
      ]);
    });

    it('a store changed outside Countersign is a 503 telling the caller what, not where, without Retry-After (a retry meets the same store), and is audited', async () => {
      const before = running.audited().length;
      const res = await get(`${running.url}/things/damaged`);
      expect(res).toMatchObject({ status: 503, retryAfter: null, body: { message: 'the store was changed outside Countersign; an operator restores it' } });
      expect(JSON.stringify(res.body)).not.toContain('/home/ops');
      await until(() => running.audited().length >= before + 1, 'the audit of the 503');
      expect(
        running
          .audited()
          .slice(before)
          .map((e) => [e.data.path, e.data.status, e.data.reason]),
      ).toEqual([['/things/damaged', 503, 'the store was changed outside Countersign; an operator restores it']]);
    });

    it('/healthz fails while the bus is broken until a restart, saying why (disk probe, 2026-12-05: it answered ok for ever)', async () => {
      expect(await get(`${running.url}/healthz`)).toMatchObject({ status: 200, body: { status: 'ok' } });
      const broken = jest.spyOn(running.bus, 'broken').mockReturnValue('the bus could not store a message: restart the process');
      try {
        const res = await get(`${running.url}/healthz`);
        expect(res).toMatchObject({ status: 503, body: { message: 'broken until restarted: the bus could not store a message: restart the process' } });
      } finally {
        broken.mockRestore();
      }
      expect((await get(`${running.url}/healthz`)).status).toBe(200);
    });

    it('names no server and says every answer is what its type says, errors included', async () => {
      for (const path of ['things/unknown', 'things/redis-down', 'healthz']) {
        const res = await fetch(`${running.url}/${path}`);
        expect(res.headers.get('x-powered-by')).toBeNull();
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        // Nothing in an answer runs, loads, is framed or kept (an error's JSON opened in a browser included).
        expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'; base-uri 'none'");
        expect(res.headers.get('x-frame-options')).toBe('DENY');
        expect(res.headers.get('referrer-policy')).toBe('no-referrer');
        expect(res.headers.get('cache-control')).toBe('no-store');
      }
    });

    it('a lookup of an unknown id is answered 404 without a security audit; other 404s are still audited', async () => {
      const before = running.audited().length;
      expect((await get(`${running.url}/things/unknown`)).status).toBe(404);
      expect((await get(`${running.url}/things/gone`)).status).toBe(404);
      await until(() => running.audited().length > before, 'the audit of the other 404');
      expect(
        running
          .audited()
          .slice(before)
          .map((e) => e.data.path),
      ).toEqual(['/things/gone']);
    });
  });

  it('audits a refused path with each character no one would see as itself written as its code point (line breaks, escapes, bidi overrides)', async () => {
    const running = await start([]);
    try {
      const res = await fetch(`${running.url}/x%0Afake-entry%0D%E2%80%AEevil%00%1b[31mred%F3%A0%80%81`);
      expect(res.status).toBe(404);
      const answered = ((await res.json()) as { message: string }).message;
      await until(() => running.audited().length > 0, 'the audit of the refusal');
      const { path, reason } = running.audited()[0].data as { path: string; reason: string };
      expect(path).toBe('/x\\u000afake-entry\\u000d\\u202eevil\\u0000\\u001b[31mred\\u{e0001}');
      for (const text of [path, reason, answered]) expect(text).not.toMatch(/[\p{Cc}\p{Cf}\u2028\u2029]/u);
    } finally {
      await running.close();
    }
  });

  it('audits a flood of unauthenticated rejections from one address one by one up to its budget, then as one summary', async () => {
    const running = await start([]);
    try {
      for (let i = 0; i < 60; i++) expect((await get(`${running.url}/things/gone`)).status).toBe(404);
      // The budget (20 at once, 1 a second after that): at most a few more than 20 while the flood runs.
      await until(() => running.audited().length >= 20, 'the audits within the budget');
      const oneByOne = running.audited().length;
      expect(oneByOne).toBeLessThan(30);
    } finally {
      await running.close();
    }
    // Closing audits what was counted: one summary with how many, which statuses and the last reason.
    await until(() => running.audited().some((e) => e.data.reason.includes('more unauthenticated requests')), 'the summary');
    const summaries = running.audited().filter((e) => e.data.reason.includes('more unauthenticated requests'));
    expect(summaries).toHaveLength(1);
    const count = 60 - (running.audited().length - 1);
    expect(summaries[0].data).toMatchObject({ status: 404, path: '/things/gone', principal: null });
    expect(summaries[0].data.reason).toMatch(
      new RegExp(
        `^${count} more unauthenticated requests from \\S+ rejected since \\S+ \\(404: ${count}\\), beyond the audit budget, summarised here; the last: no such route`,
      ),
    );
    expect(summaries[0].actor).toMatchObject({ id: 'anonymous', authMethod: 'none' });
  });

  it('audits a flood of one principal’s rejections one by one up to its budget, then as one summary under that principal', async () => {
    const running = await start([]);
    const asReader = { headers: { Authorization: 'Bearer reader-token' } };
    try {
      for (let i = 0; i < 160; i++) expect((await fetch(`${running.url}/things/gone`, asReader)).status).toBe(404);
      // A principal's budget (100 at once, 2 a second after that): at most a few more than 100 while the flood runs.
      await until(() => running.audited().length >= 100, 'the audits within the budget');
      expect(running.audited().length).toBeLessThan(130);
      expect(running.audited().every((e) => e.actor.id === 'reader' && e.data.principal === 'reader')).toBe(true);
    } finally {
      await running.close();
    }
    await until(() => running.audited().some((e) => / more requests from principal reader /.test(e.data.reason)), 'the summary');
    const summaries = running.audited().filter((e) => / more requests from principal reader /.test(e.data.reason));
    expect(summaries).toHaveLength(1);
    const count = 160 - (running.audited().length - 1);
    expect(summaries[0].data).toMatchObject({ status: 404, path: '/things/gone', principal: 'reader' });
    expect(summaries[0].data.reason).toMatch(
      new RegExp(`^${count} more requests from principal reader rejected since \\S+ \\(404: ${count}\\), beyond the audit budget, summarised here; the last: `),
    );
    expect(summaries[0].actor).toMatchObject({ id: 'reader', kind: 'agent' });
  });

  describe('not ready, not consuming', () => {
    let running: Running;
    let flagsLoaded = false;
    beforeAll(
      async () =>
        (running = await start([
          {
            name: 'flags',
            check: async () => {
              if (!flagsLoaded) throw new Error('no flag data yet: Unleash at http://127.0.0.1:9/api has not answered and there is no backup');
              return true;
            },
          },
          { name: 'redis', check: async () => true },
        ])),
    );
    afterAll(() => running.close());

    it('serves /readyz 503 naming the failing check and why, consumes nothing, and subscribes once the check passes', async () => {
      const before = await get(`${running.url}/readyz`);
      expect(before.status).toBe(503);
      expect(before.body).toMatchObject({
        status: 'not-ready',
        checks: { bus: 'ok', redis: 'ok', flags: expect.stringContaining('no flag data yet'), consumers: 'not subscribed yet: test.decide' },
      });
      expect(before.body.message).toContain('flags (no flag data yet');

      await running.bus.emit(TOPICS.actionProposed, { proposal: proposalData(), receivedVia: 'http' }, { subject: 'action-1', correlationId: 'c1' });
      expect(running.bus.broker.groupNames()).not.toContain('test.decide');
      expect(running.handled).toEqual([]);

      flagsLoaded = true;
      await until(() => running.handled.length === 1, 'the waiting proposal to be handled');
      expect(running.handled).toEqual(['action-1']);
      const after = await get(`${running.url}/readyz`);
      expect(after).toMatchObject({ status: 200, body: { status: 'ready', checks: { flags: 'ok', consumers: 'ok' } } });
      // A probe's not-ready answer is no refusal: not audited (a 404 after it is, and is the only entry).
      expect((await get(`${running.url}/things/gone`)).status).toBe(404);
      await until(() => running.audited().length > 0, 'the audit of the 404');
      expect(running.audited().map((e) => [e.data.path, e.data.status])).toEqual([['/things/gone', 404]]);
    });
  });
});

function proposalData() {
  return {
    actionType: 'support.refund',
    target: 'order-1',
    parameters: { amount: 10, currency: 'EUR' },
    proposer: { agentId: 'support-copilot', model: { name: 'm', version: '1' }, promptTemplateVersion: 'p1' },
    confidence: 0.9,
    tenant: 'acme',
    region: 'eu-west',
    context: {},
  };
}

describe('the rejection filter: a path parameter that is not UTF-8', () => {
  it.each(['%FF', '%ED%A0%80', 'a%C3'])(
    'answers /things/by-id/%s 400 with a precise message, audited, not the router’s mojibake (red team, 2026-12-05)',
    async (id) => {
      const running = await start([]);
      try {
        const message = 'a path parameter is not valid percent-encoded UTF-8';
        expect(await get(`${running.url}/things/by-id/${id}`)).toMatchObject({ status: 400, body: { statusCode: 400, error: 'Bad Request', message } });
        await until(() => running.audited().some((e) => e.data.reason === message), 'the audit entry');
        // A well-formed one is decoded as before.
        expect(await get(`${running.url}/things/by-id/%C3%A9t%C3%A9`)).toMatchObject({ status: 200, body: { id: 'été' } });
      } finally {
        await running.close();
      }
    },
  );
});
