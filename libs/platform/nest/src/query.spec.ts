import { Controller, Get, Module, Query } from '@nestjs/common';
import { createHash } from 'node:crypto';
import pino from 'pino';
import { InMemoryBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { Roles, TokenRegistry } from './auth';
import { ApiRoute } from './openapi/route-doc';
import { PlatformModule, serve } from './platform.module';
import { integerQuery } from './query';

// real: the platform module (guard, query check, rejection filter with its audit) in a Nest HTTP app on Express 5's
// query parser, the in-memory bus; the routes are this test's.
const logger = pino({ level: 'silent' });
const digest = (t: string) => createHash('sha256').update(t).digest('hex');

@Controller('things')
class ThingsController {
  @ApiRoute({ summary: 'A list with one filter', ok: { description: 'the things' } })
  @Get()
  @Roles('reader')
  list(@Query('status') status?: string) {
    return { status: status ?? null };
  }

  @ApiRoute({ summary: 'A list without filters', ok: { description: 'the things' } })
  @Get('all')
  @Roles('reader')
  all() {
    return { all: true };
  }

  @ApiRoute({
    summary: 'A page reading its filters whole',
    query: { tenant: 'only this tenant', slaClass: 'only this class' },
    ok: { description: 'the page' },
  })
  @Get('page')
  @Roles('reader')
  page(@Query() query: Record<string, unknown>) {
    return { query };
  }

  @ApiRoute({ summary: "A provider's redirect", openQuery: 'its client checks it', ok: { description: 'done' } })
  @Get('callback')
  @Roles('reader')
  callback(@Query() query: Record<string, unknown>) {
    return { query };
  }
}

describe('query parameters: a route refuses what it does not read (QueryParamsInterceptor)', () => {
  const bus = new InMemoryBus({ logger });
  const audited: TopicMap[typeof TOPICS.requestRejected][] = [];
  let url: string;
  let close: () => Promise<void>;
  const get = async (path: string, token: string | null = 'reader-token') => {
    const res = await fetch(`${url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    await bus.subscribe({ group: 'test.audit', handlers: { [TOPICS.requestRejected]: async (e) => void audited.push(e) } });
    const tokens = new TokenRegistry([{ principal: 'reader', kind: 'human', roles: ['reader'], tokenSha256: digest('reader-token') }]);
    @Module({ imports: [PlatformModule.forRoot({ service: 'test', bus, logger, tokens })], controllers: [ThingsController] })
    class Root {}
    const { app, port } = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${port}`;
    close = () => app.close();
  });
  afterAll(async () => {
    await close();
    await bus.close();
  });

  it('answers the parameters a route reads, by name or declared for a whole-object query', async () => {
    expect(await get('/things?status=pending')).toEqual({ status: 200, body: { status: 'pending' } });
    expect(await get('/things')).toEqual({ status: 200, body: { status: null } });
    expect(await get('/things/page?tenant=acme&slaClass=high')).toEqual({ status: 200, body: { query: { tenant: 'acme', slaClass: 'high' } } });
  });

  it('refuses an unknown parameter with 400, naming what the route reads, and audits it', async () => {
    const before = audited.length;
    expect(await get('/things/all?status=bogus')).toMatchObject({
      status: 400,
      body: { message: 'unknown query parameter `status` for this route (it reads none)' },
    });
    expect(await get('/things?status[]=pending')).toMatchObject({
      status: 400,
      body: { message: 'unknown query parameter `status[]` for this route (it reads `status`)' },
    });
    expect(await get('/things/page?tenant=acme&tenat=globex')).toMatchObject({ status: 400, body: { message: expect.stringContaining('`tenat`') } });
    expect(audited.slice(before).map((e) => [e.data.status, e.data.principal, e.data.path])).toEqual([
      [400, 'reader', '/things/all'],
      [400, 'reader', '/things'],
      [400, 'reader', '/things/page'],
    ]);
  });

  it('refuses a parameter given twice, and does not echo a name that may carry data', async () => {
    expect(await get('/things?status=pending&status=approved')).toMatchObject({
      status: 400,
      body: { message: 'query parameter `status` given more than once' },
    });
    const refused = await get('/things?4111111111111111=1');
    expect(refused).toMatchObject({
      status: 400,
      body: { message: 'unknown query parameter (its name is not shown: not a plain name) for this route (it reads `status`)' },
    });
    expect(JSON.stringify(refused.body)).not.toContain('4111111111111111');
  });

  it('checks authentication first, and leaves a route that declares an open query to its own checks', async () => {
    expect((await get('/things/all?status=bogus', null)).status).toBe(401);
    expect(await get('/things/callback?code=abc&state=x&iss=y')).toEqual({ status: 200, body: { query: { code: 'abc', state: 'x', iss: 'y' } } });
  });
});

describe('integerQuery: a whole number as typed', () => {
  it('reads decimal digits within the range, and refuses anything else with a 400 naming the range', () => {
    expect(integerQuery('limit', undefined, 50, { min: 1, max: 500 })).toBe(50);
    expect(integerQuery('limit', '20', 50, { min: 1, max: 500 })).toBe(20);
    for (const bad of ['-5', '0x1', '1e0', 'abc', '', ' 7', '+7', '2.5', '0', '501'])
      expect(() => integerQuery('limit', bad, 50, { min: 1, max: 500 })).toThrow('limit: must be an integer from 1 to 500 in decimal digits');
  });
});
