import { Body, Controller, Get, Module, Param, Post, Query } from '@nestjs/common';
import pino from 'pino';
import { z } from 'zod';
import { InMemoryBus } from '@countersign/bus';
import { parseConfig } from '@countersign/config';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { DEFAULT_READ_RATE, EMBEDDED_READ_RATE, ReadLimits, readRateOf, readRateSettings } from '@countersign/limits';
import { Roles, sha256Hex, TokenRegistry } from './auth';
import { LongPollWhen } from './read-rate';
import { PlatformModule, serve } from './platform.module';

// real: the platform's Nest HTTP app (the authentication guard, the read-rate guard, the body reader, the rejection
// filter and its audit budget) with the in-process bus, over HTTP on 127.0.0.1; fake: a controller of two routes.
const logger = pino({ level: 'silent' });

/** The platform's app on 127.0.0.1 with `controllers`, two agents' tokens (`token-a`, `token-b`), and these read limits. */
async function start(controllers: Array<new (...args: never[]) => unknown>, readRate: ReadLimits, bus = new InMemoryBus({ logger })) {
  const tokens = new TokenRegistry([
    { principal: 'agent-a', kind: 'agent', roles: ['agent'], agentIds: ['a'], tokenSha256: sha256Hex('token-a') },
    { principal: 'agent-b', kind: 'agent', roles: ['agent'], agentIds: ['b'], tokenSha256: sha256Hex('token-b') },
  ]);
  @Module({ imports: [PlatformModule.forRoot({ service: 'test', bus, logger, tokens, readRate })], controllers })
  class Root {}
  const running = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
  return { url: `http://127.0.0.1:${running.port}`, close: () => running.app.close() };
}

@Controller('v1/things')
@Roles('agent')
class ThingsController {
  @Get(':id')
  read(@Param('id') id: string) {
    return { id };
  }

  @Post()
  write(@Body() body: unknown) {
    return { written: body };
  }
}

describe('reads past the principal’s rate (docs/adr/0048, addendum 2026-12-07)', () => {
  const audited: TopicMap[typeof TOPICS.requestRejected][] = [];
  let url: string;
  let close: () => Promise<void>;

  beforeAll(async () => {
    const bus = new InMemoryBus({ logger });
    await bus.subscribe({ group: 'test.audit', handlers: { [TOPICS.requestRejected]: async (e) => void audited.push(e) } });
    // Three reads at once, then one every 1,000 s: nothing comes back while the test runs. Many in flight.
    ({ url, close } = await start([ThingsController], { perSecond: 0.001, burst: 3, inFlight: 100 }, bus));
  });
  afterAll(() => close?.());

  const call = async (method: string, path: string, token?: string) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { ...(token && { Authorization: `Bearer ${token}` }), ...(method === 'POST' && { 'Content-Type': 'application/json' }) },
      ...(method === 'POST' && { body: '{"x":1}' }),
    });
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      body: method === 'HEAD' ? undefined : ((await res.json()) as { message?: string }),
    };
  };

  it('answers 429 with Retry-After past the burst, before the handler, audited under the principal; others, writes and probes go on', async () => {
    expect((await call('GET', '/v1/things/1', 'token-a')).status).toBe(200);
    expect((await call('HEAD', '/v1/things/2', 'token-a')).status).toBe(200); // a HEAD is a read too
    expect((await call('GET', '/v1/things/3', 'token-a')).status).toBe(200);
    expect(await call('GET', '/v1/things/4', 'token-a')).toEqual({
      status: 429,
      retryAfter: '1000',
      body: {
        statusCode: 429,
        error: 'Too Many Requests',
        message: 'principal agent-a reads faster than its rate (0.001 a second, 3 at once): retry after 1000 s',
      },
    });
    // Writes are not reads (they have limits of their own where they cost); another principal has its own bucket.
    expect((await call('POST', '/v1/things', 'token-a')).status).toBe(201);
    expect((await call('GET', '/v1/things/5', 'token-b')).status).toBe(200);
    // No token, or an unknown one, is a 401 whatever the rate; a route without roles (a probe) is no one's read.
    expect((await call('GET', '/v1/things/6')).status).toBe(401);
    expect((await call('GET', '/v1/things/6', 'token-x')).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await call('GET', '/healthz')).status).toBe(200);
    await eventually(() => audited.length >= 3);
    expect(audited.map((e) => [e.actor.id, e.data.status, e.data.path])).toEqual([
      ['agent-a', 429, '/v1/things/4'],
      ['anonymous', 401, '/v1/things/6'],
      ['anonymous', 401, '/v1/things/6'],
    ]);
  });

  it('audits a principal’s read refusals within its budget: a flood of them is not one entry each', async () => {
    const refusals = () => audited.filter((e) => e.data.status === 429).length;
    for (let i = 0; i < 150; i++) expect((await call('GET', `/v1/things/f${i}`, 'token-b')).status).toBe(i < 2 ? 200 : 429);
    // A principal's budget is 100 at once, 2 a second after: the rest are counted for a summary.
    await eventually(() => refusals() >= 100);
    expect(refusals()).toBeLessThan(1 + 148);
  });

  async function eventually(done: () => boolean) {
    const deadline = Date.now() + 10_000;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`not within 10 s: ${audited.length} refusals audited`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
});

describe('reads in flight (docs/adr/0048, addendum 2026-12-07)', () => {
  // Reads that answer when the test says: each `GET /v1/slow/:id` waits for its own release.
  const waiting = new Map<string, () => void>();
  const arrived = (id: string) => eventually(() => waiting.has(id));
  const release = (id: string) => {
    waiting.get(id)?.();
    waiting.delete(id);
  };

  @Controller('v1/slow')
  @Roles('agent')
  class SlowController {
    @Get(':id')
    @LongPollWhen('waitFor')
    read(@Param('id') id: string, @Query('waitFor') waitFor?: string) {
      return new Promise((resolve) => waiting.set(id, () => resolve({ id, waitFor })));
    }
  }

  let url: string;
  let close: () => Promise<void>;
  // Two reads under way at most; the rate out of the way.
  beforeAll(async () => ({ url, close } = await start([SlowController], { perSecond: 1_000, burst: 1_000, inFlight: 2 })));
  afterAll(() => close?.());

  const get = (path: string, token: string, signal?: AbortSignal) =>
    fetch(`${url}${path}`, { headers: { Authorization: `Bearer ${token}` }, signal }).then(async (res) => ({
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      body: (await res.json()) as { message?: string },
    }));

  it('refuses a principal’s read past its reads under way (429, Retry-After 1), not another’s, and lets it read again when one ends', async () => {
    const [one, two] = [get('/v1/slow/1', 'token-a'), get('/v1/slow/2', 'token-a')];
    await Promise.all([arrived('1'), arrived('2')]);
    expect(await get('/v1/slow/3', 'token-a')).toEqual({
      status: 429,
      retryAfter: '1',
      body: { statusCode: 429, error: 'Too Many Requests', message: 'principal agent-a has 2 reads under way, the most it may at once: retry after 1 s' },
    });
    expect(waiting.has('3')).toBe(false); // refused before the handler
    const other = get('/v1/slow/b1', 'token-b');
    await arrived('b1');
    release('b1');
    expect((await other).status).toBe(200);
    release('1');
    expect((await one).status).toBe(200);
    const again = get('/v1/slow/4', 'token-a');
    await arrived('4');
    release('4');
    release('2');
    expect([(await again).status, (await two).status]).toEqual([200, 200]);
  });

  it('does not count a long poll among them, and ends a read whose caller went away', async () => {
    const polls = ['p1', 'p2', 'p3'].map((id) => get(`/v1/slow/${id}?waitFor=final`, 'token-a'));
    await Promise.all(['p1', 'p2', 'p3'].map(arrived));
    // The caller goes away before the answer: its read is no longer under way.
    const gone = new AbortController();
    const abandoned = get('/v1/slow/gone', 'token-a', gone.signal).catch(() => 'aborted');
    await arrived('gone');
    gone.abort();
    expect(await abandoned).toBe('aborted');
    const [five, six] = [get('/v1/slow/5', 'token-a'), get('/v1/slow/6', 'token-a')];
    await eventually(() => waiting.has('5') && waiting.has('6'));
    for (const id of ['5', '6', 'p1', 'p2', 'p3', 'gone']) release(id);
    expect((await Promise.all([five, six, ...polls])).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
  });
});

async function eventually(done: () => boolean) {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('not within 10 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the read rate’s settings', () => {
  const Settings = z.object(readRateSettings(EMBEDDED_READ_RATE));

  it('default to the rate given, and refuse a rate that lets nothing through or is not a number', () => {
    expect(readRateOf(parseConfig(Settings, {}))).toEqual(EMBEDDED_READ_RATE);
    expect(readRateOf(parseConfig(Settings, { READS_PER_SECOND: '7.5', READ_BURST: '20' }))).toEqual({ perSecond: 7.5, burst: 20, inFlight: 8 });
    expect(() => parseConfig(Settings, { READS_PER_SECOND: '0' })).toThrow(/READS_PER_SECOND/);
    expect(() => parseConfig(Settings, { READ_BURST: '2.5' })).toThrow(/READ_BURST/);
    expect(() => parseConfig(Settings, { READS_PER_SECOND: 'fast' })).toThrow(/READS_PER_SECOND/);
    expect(parseConfig(Settings, { READS_IN_FLIGHT: '3' }).READS_IN_FLIGHT).toBe(3);
    expect(() => parseConfig(Settings, { READS_IN_FLIGHT: '0' })).toThrow(/READS_IN_FLIGHT/);
    expect(DEFAULT_READ_RATE).toEqual({ perSecond: 100, burst: 1_000, inFlight: 16 });
  });
});
