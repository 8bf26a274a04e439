import { Body, Controller, HttpCode, Module, Post } from '@nestjs/common';
import { createHash } from 'node:crypto';
import pino from 'pino';
import { InMemoryBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { Roles, TokenRegistry } from './auth';
import { MAX_BODY_BYTES } from './body';
import { ApiRoute } from './openapi/route-doc';
import { PlatformModule, serve } from './platform.module';
import { rawConnection, rawHttp } from './testing/raw-http';

// real: the platform module (AuthGuard, the body reader after it, the rejection filter with its audit) in a Nest HTTP
// app, the in-memory bus; fake: the routes, this test's.
const logger = pino({ level: 'silent' });
const digest = (t: string) => createHash('sha256').update(t).digest('hex');

@Controller('things')
class ThingsController {
  @ApiRoute({ summary: 'Takes a thing', body: { type: 'object' }, ok: { description: 'what it read' } })
  @Post()
  @HttpCode(200)
  @Roles('writer')
  take(@Body() body: unknown) {
    return { read: body ?? null };
  }

  @ApiRoute({ summary: 'Takes a thing from anyone', public: 'a test route', body: { type: 'object' }, ok: { description: 'what it read' } })
  @Post('open')
  @HttpCode(200)
  open(@Body() body: unknown) {
    return { read: body ?? null };
  }

  @ApiRoute({ summary: 'Takes a thing from a signed-in session', session: true, body: { type: 'object' }, ok: { description: 'what it read' } })
  @Post('session')
  @HttpCode(200)
  session(@Body() body: unknown) {
    return { read: body ?? null };
  }

  // Declares no body: as sign-out does.
  @ApiRoute({ summary: 'Ends a thing', public: 'a test route', ok: { description: 'ended' } })
  @Post('end')
  @HttpCode(200)
  end() {
    return { ended: true };
  }

  // No ApiRoute, but a @Body() parameter: that declares a body too.
  @Post('undocumented')
  @HttpCode(200)
  undocumented(@Body() body: unknown) {
    return { read: body ?? null };
  }
}

describe('request bodies are read after the credentials are checked (JsonBodyInterceptor)', () => {
  const bus = new InMemoryBus({ logger });
  const audited: TopicMap[typeof TOPICS.requestRejected][] = [];
  let port: number;
  let close: () => Promise<void>;
  const post = async (path: string, body: string | Buffer, o: { token?: string; type?: string } = {}) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method: 'POST',
      headers: { 'content-type': o.type ?? 'application/json', ...(o.token && { authorization: `Bearer ${o.token}` }) },
      body,
    });
    return { status: res.status, message: ((await res.json()) as { message: string }).message };
  };
  const auditOf = async (status: number, reason: string) => {
    for (let i = 0; i < 100 && !audited.some((e) => e.data.status === status && e.data.reason === reason); i++) await new Promise((r) => setTimeout(r, 20));
    return audited.find((e) => e.data.status === status && e.data.reason === reason);
  };

  beforeAll(async () => {
    await bus.subscribe({ group: 'test.audit', handlers: { [TOPICS.requestRejected]: async (e) => void audited.push(e) } });
    const tokens = new TokenRegistry([
      { principal: 'writer', kind: 'service', roles: ['writer'], tokenSha256: digest('writer-token') },
      { principal: 'reader', kind: 'service', roles: ['reader'], tokenSha256: digest('reader-token') },
    ]);
    @Module({ imports: [PlatformModule.forRoot({ service: 'test', bus, logger, tokens })], controllers: [ThingsController] })
    class Root {}
    const running = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
    port = running.port;
    close = () => running.app.close();
  });
  afterAll(() => close());

  it.each([
    ['malformed JSON', '{"a":', 'application/json'],
    ['a duplicate key', '{"a":1,"a":2}', 'application/json'],
    ['text/plain', 'hello', 'text/plain'],
    ['charset=latin1', '{"a":1}', 'application/json; charset=latin1'],
  ])('answers a request without a token 401 whatever its body (%s), not the body reader’s 400/415', async (_name, body, type) => {
    expect(await post('/things', body, { type })).toEqual({ status: 401, message: 'missing bearer token (Authorization: Bearer <token>)' });
    expect(await post('/things', body, { type, token: 'no-such-token' })).toEqual({ status: 401, message: 'unknown or revoked token' });
    expect((await post('/things', body, { type, token: 'reader-token' })).status).toBe(403);
  });

  it('answers an unauthenticated body over the limit 401 at once, unread: the connection is closed, not drained', async () => {
    // Declared 10 MB, 1 KB sent: the answer does not wait for the rest, and the server does not stay to take it in.
    const declared = await rawHttp(
      port,
      `POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n${'['.repeat(1024)}`,
    );
    expect(declared).toMatchObject({ status: 401, closed: true, headers: { connection: 'close' } });
    expect(JSON.parse(declared.body)).toMatchObject({ statusCode: 401, message: 'missing bearer token (Authorization: Bearer <token>)' });
    // Chunked, no length: the same, without reading a byte of it.
    const chunked = await rawHttp(
      port,
      `POST /things HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n${'['.repeat(1024)}\r\n`,
    );
    expect(chunked).toMatchObject({ status: 401, closed: true });
    // By fetch, which sends it all: 401, audited as every unauthenticated refusal.
    expect((await post('/things', Buffer.alloc(100 * 1024, '['))).status).toBe(401);
    expect((await auditOf(401, 'missing bearer token (Authorization: Bearer <token>)'))?.data).toMatchObject({
      method: 'POST',
      path: '/things',
      principal: null,
    });
  });

  it("keeps the body reader's precise answers for an authenticated caller, audited under its principal", async () => {
    expect(await post('/things', '{"a":1}', { token: 'writer-token' })).toEqual({ status: 200, message: undefined });
    const malformed = await post('/things', '{"a":', { token: 'writer-token' });
    expect(malformed).toEqual({ status: 400, message: 'malformed JSON body: unexpected end of input where a value should be' });
    expect((await auditOf(400, malformed.message))?.data).toMatchObject({ principal: 'writer' });
    // The query is checked before the body is read.
    expect((await post('/things?colour=red', '{"a":', { token: 'writer-token' })).message).toMatch(/^unknown query parameter `colour`/);
    expect(await post('/things', 'hello', { token: 'writer-token', type: 'text/plain' })).toEqual({
      status: 415,
      message: 'request body must be application/json',
    });
    expect(await post('/things', Buffer.alloc(100 * 1024, ' '), { token: 'writer-token' })).toEqual({
      status: 413,
      message: `request body is ${100 * 1024} bytes, over the ${MAX_BODY_BYTES}-byte limit`,
    });
  });

  it('answers a chunked body over the limit 413 and closes the connection, rather than drain the rest (it was kept open)', async () => {
    const chunk = `${(32 * 1024).toString(16)}\r\n${' '.repeat(32 * 1024)}\r\n`;
    const over = await rawHttp(
      port,
      `POST /things HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer writer-token\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk.repeat(3)}`,
    );
    expect(over).toMatchObject({ status: 413, closed: true });
    expect(JSON.parse(over.body).message).toBe(`request body is over the ${MAX_BODY_BYTES}-byte limit`);
  });

  it('reads a chunked body, and refuses one under any other transfer coding unread (a proxy that applies `gzip` would read another body)', async () => {
    const json = '{"a":1}';
    const send = (coding: string) =>
      rawHttp(
        port,
        `POST /things HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer writer-token\r\nContent-Type: application/json\r\nTransfer-Encoding: ${coding}\r\nConnection: close\r\n\r\n${json.length.toString(16)}\r\n${json}\r\n0\r\n\r\n`,
      );
    expect(await send('chunked')).toMatchObject({ status: 200 });
    for (const coding of ['gzip, chunked', 'deflate, chunked', 'x-custom, chunked']) {
      const refused = await send(coding);
      expect({ coding, status: refused.status }).toEqual({ coding, status: 400 });
      expect(JSON.parse(refused.body).message).toBe(`request body must be sent as it is or chunked: Transfer-Encoding "${coding}" is not read`);
    }
  });

  it('still reads the body of a route that needs no caller, and refuses a session route no guard authenticated (fail closed)', async () => {
    expect(await post('/things/open', '{"a":1}')).toEqual({ status: 200, message: undefined });
    expect(await post('/things/open', '{"a":')).toMatchObject({ status: 400 });
    expect(await post('/things/session', '{"a":1}')).toEqual({
      status: 401,
      message: 'not authenticated: this route reads no request body before its caller is authenticated',
    });
  });

  it('answers a route that declares no body without reading one: a malformed body is not looked at, a slow one not waited for', async () => {
    // Read before, as every body was: this was a 400.
    const malformed = await rawHttp(port, 'POST /things/end HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1\r\n\r\n{');
    expect(malformed).toMatchObject({ status: 200, body: '{"ended":true}' });
    // 10 of 1,000 bytes sent, and no more: answered at once, and the connection closed rather than kept for the rest.
    const slow = await rawConnection(port);
    slow.write(`POST /things/end HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n${' '.repeat(10)}`);
    expect(await slow.next()).toMatchObject({ status: 200, headers: { connection: 'close' }, body: '{"ended":true}' });
    await slow.closed;
    // A route with a @Body() parameter and no ApiRoute still reads its body.
    expect(await post('/things/undocumented', '{"a":1}')).toEqual({ status: 200, message: undefined });
  });

  it('answers Expect: 100-continue with 100 only once the caller is authenticated and the body is to be read', async () => {
    const head = (path: string, headers: string, length: number) =>
      `POST ${path} HTTP/1.1\r\nHost: x\r\n${headers}Content-Type: application/json\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\n\r\n`;
    // Node wrote 100 as the request arrived, so a client without a token was told to send its body.
    for (const [headers, status] of [
      ['', 401],
      ['Authorization: Bearer reader-token\r\n', 403],
    ] as const) {
      const refused = await rawConnection(port);
      refused.write(head('/things', headers, 7));
      expect(await refused.next()).toMatchObject({ status, headers: { connection: 'close' } });
      await refused.closed;
    }
    // The writer: 100, then the body, then the answer.
    const writer = await rawConnection(port);
    writer.write(head('/things', 'Authorization: Bearer writer-token\r\n', 7));
    expect((await writer.next()).status).toBe(100);
    writer.write('{"a":1}');
    expect(await writer.next()).toMatchObject({ status: 200, body: '{"read":{"a":1}}' });
    writer.destroy();
    // Authenticated, but a body over the limit, or a route that reads none: answered without a 100.
    for (const [path, length, status] of [
      ['/things', 10 * 1024 * 1024, 413],
      ['/things/end', 7, 200],
    ] as const) {
      const unread = await rawConnection(port);
      unread.write(head(path, 'Authorization: Bearer writer-token\r\n', length));
      expect(await unread.next()).toMatchObject({ status, headers: { connection: 'close' } });
      await unread.closed;
    }
  });
});
