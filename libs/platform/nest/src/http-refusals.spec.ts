import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { connect, Socket } from 'node:net';
import { Body, Controller, Get, Module, Post } from '@nestjs/common';
import pino from 'pino';
import { InMemoryBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { Roles, sha256Hex, TokenRegistry } from './auth';
import { answerHttpRefusals, clientErrorRefusal } from './http-refusals';
import { PlatformModule, REQUEST_TIMEOUT_MS, serve } from './platform.module';
import { rawConnection, rawHttp } from './testing/raw-http';

// real: serve() with the platform module (its HTTP server, the rejection audit), the in-memory bus; fake: the requests,
// written byte by byte; in the first two blocks, the parser's errors and the socket.
const logger = pino({ level: 'silent' });
const parseError = (code: string, reason?: string) => Object.assign(new Error(`Parse Error: ${reason}`), { code, reason });

describe('clientErrorRefusal', () => {
  it.each([
    ['HPE_HEADER_OVERFLOW', 'Header overflow', 431, 'the request line and headers are over the 16384-byte limit'],
    ['HPE_CHUNK_EXTENSIONS_OVERFLOW', 'Chunk extensions overflow', 413, 'the chunk extensions of the request body are over the limit'],
    ['ERR_HTTP_REQUEST_TIMEOUT', undefined, 408, 'the request did not arrive in full in the time allowed'],
    ['HPE_INVALID_METHOD', 'Invalid method encountered', 400, 'malformed request line: Invalid method encountered'],
    ['HPE_INVALID_HEADER_TOKEN', 'Invalid header value char', 400, 'malformed header: Invalid header value char'],
    ['HPE_INVALID_TRANSFER_ENCODING', 'Invalid `Transfer-Encoding` header value', 400, 'malformed body framing: Invalid `Transfer-Encoding` header value'],
    ['HPE_CR_EXPECTED', 'Missing expected CR after header value', 400, 'malformed request: Missing expected CR after header value'],
    // A reason that is not one of llhttp's plain texts is not shown: the code is.
    ['HPE_STRICT', 'Bearer \u0000secret', 400, 'malformed request: HPE_STRICT'],
  ])('answers %s (llhttp: %p) with %i: %s', (code, reason, status, message) => {
    expect(clientErrorRefusal(parseError(code, reason), 16_384)).toEqual({ status, message });
  });

  it.each(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', undefined])('answers nothing to a connection that failed (%s)', (code) => {
    expect(clientErrorRefusal(Object.assign(new Error('socket'), { code }), 16_384)).toBeUndefined();
  });
});

describe('answerHttpRefusals: never throws', () => {
  const socket = (
    o: { writable?: boolean; endThrows?: boolean; inFlight?: { headersSent: boolean; req?: { complete: boolean; method: string; url: string } } } = {},
  ) => ({
    writable: o.writable ?? true,
    remoteAddress: '127.0.0.1',
    _httpMessage: o.inFlight,
    end: jest.fn(() => {
      if (o.endThrows) throw new Error('This socket has been ended by the other party');
    }),
    destroySoon: jest.fn(),
    destroy: jest.fn(),
  });
  const server = () => {
    const s = new EventEmitter();
    const refused = jest.fn();
    answerHttpRefusals(s as unknown as Server, logger, refused);
    return { s, refused };
  };

  it('only destroys a socket that was reset, is no longer writable, or has an answer under way', () => {
    const { s, refused } = server();
    for (const [err, sock] of [
      [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), socket()],
      [parseError('HPE_INVALID_METHOD'), socket({ writable: false })],
      [parseError('HPE_INVALID_CHUNK_SIZE'), socket({ inFlight: { headersSent: true } })],
    ] as const) {
      expect(() => s.emit('clientError', err, sock)).not.toThrow();
      expect(sock.end).not.toHaveBeenCalled();
      expect(sock.destroy).toHaveBeenCalled();
    }
    expect(refused).not.toHaveBeenCalled();
  });

  it("closes a connection whose bad request was pipelined behind one still being answered, and audits it without the earlier one's path", () => {
    const { s, refused } = server();
    const sock = socket({ inFlight: { headersSent: false, req: { complete: true, method: 'GET', url: '/v1/actions/a-1?waitFor=final' } } });
    s.emit('clientError', parseError('HPE_INVALID_HEADER_TOKEN', 'Invalid header token'), sock);
    expect(sock.end).not.toHaveBeenCalled();
    expect(sock.destroy).toHaveBeenCalled();
    expect(refused).toHaveBeenCalledWith({ status: 400, message: 'malformed header: Invalid header token', source: '127.0.0.1' });
    // The request being answered is the one whose body is malformed (it has not all arrived): answered, with its path.
    const own = socket({ inFlight: { headersSent: false, req: { complete: false, method: 'POST', url: '/v1/proposals' } } });
    s.emit('clientError', parseError('HPE_INVALID_CHUNK_SIZE', 'Invalid character in chunk size'), own);
    expect(own.end).toHaveBeenCalled();
    expect(refused).toHaveBeenLastCalledWith(expect.objectContaining({ status: 400, method: 'POST', url: '/v1/proposals' }));
  });

  it('destroys a socket it could not answer on, and throws nothing', () => {
    const { s } = server();
    const sock = socket({ endThrows: true });
    expect(() => s.emit('clientError', parseError('HPE_INVALID_METHOD', 'Invalid method encountered'), sock)).not.toThrow();
    expect(sock.destroy).toHaveBeenCalled();
  });
});

@Controller()
class HelloController {
  @Get('hello')
  hello() {
    return { hello: true };
  }
}

describe("the HTTP server's own refusals (serve())", () => {
  const bus = new InMemoryBus({ logger });
  const audited: TopicMap[typeof TOPICS.requestRejected][] = [];
  let port: number;
  let close: () => Promise<void>;
  const auditOf = async (status: number, reason: string) => {
    for (let i = 0; i < 100 && !audited.some((e) => e.data.status === status && e.data.reason === reason); i++) await new Promise((r) => setTimeout(r, 20));
    return audited.find((e) => e.data.status === status && e.data.reason === reason);
  };

  beforeAll(async () => {
    await bus.subscribe({ group: 'test.audit', handlers: { [TOPICS.requestRejected]: async (e) => void audited.push(e) } });
    @Module({ imports: [PlatformModule.forRoot({ service: 'test', bus, logger, tokens: new TokenRegistry([]) })], controllers: [HelloController] })
    class Root {}
    const running = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
    port = running.port;
    close = () => running.app.close();
  });
  afterAll(() => close());

  it('answers headers over the limit 431 as JSON, closes the connection, and audits it without a header value', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/hello`, { headers: { 'x-big': 'secret-'.repeat(3_000) } });
    expect(res.status).toBe(431);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('connection')).toBe('close');
    const message = 'the request line and headers are over the 16384-byte limit';
    expect(await res.json()).toEqual({ statusCode: 431, error: 'Request Header Fields Too Large', message });
    const entry = await auditOf(431, message);
    expect(entry?.data).toEqual({ service: 'test', method: '', path: '', status: 431, reason: message, principal: null });
    expect(entry?.actor).toMatchObject({ id: 'anonymous', authMethod: 'none' });
    expect(JSON.stringify(audited)).not.toContain('secret-');
  });

  it.each([
    [
      'a bad Transfer-Encoding',
      'POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n',
      'malformed body framing: Invalid `Transfer-Encoding` header value',
    ],
    [
      'Content-Length beside Transfer-Encoding',
      'POST /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
      "malformed body framing: Content-Length can't be present with Transfer-Encoding",
    ],
    ['a malformed request line', 'GE T /hello HTTP/1.1\r\nHost: x\r\n\r\n', 'malformed request line: Invalid method encountered'],
    [
      'a control character in a header value',
      'GET /hello HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer a\u0001b\r\n\r\n',
      'malformed header: Invalid header value char',
    ],
  ])('answers %s 400 as JSON, closes the connection, and audits it', async (_name, request, message) => {
    const res = await rawHttp(port, request);
    expect(res).toMatchObject({ status: 400, closed: true, headers: { 'content-type': 'application/json; charset=utf-8', connection: 'close' } });
    expect(JSON.parse(res.body)).toEqual({ statusCode: 400, error: 'Bad Request', message });
    expect((await auditOf(400, message))?.data).toMatchObject({ status: 400, principal: null });
  });

  it('answers an Expect it does not do 417 as JSON, not echoing it, and audits it with its path', async () => {
    const res = await rawHttp(port, 'GET /hello?token=abc HTTP/1.1\r\nHost: x\r\nExpect: the-secret-value\r\n\r\n');
    const message = 'the Expect header asks for what this server does not do (it knows only 100-continue)';
    expect(res).toMatchObject({ status: 417, closed: true, headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(JSON.parse(res.body)).toEqual({ statusCode: 417, error: 'Expectation Failed', message });
    expect((await auditOf(417, message))?.data).toMatchObject({ method: 'GET', path: '/hello' });
    expect(JSON.stringify(audited)).not.toContain('the-secret-value');
  });

  it('answers an HTTP/1.1 request without Host 400 as JSON, audited (Node answered it with an empty body)', async () => {
    const res = await rawHttp(port, 'GET /hello HTTP/1.1\r\n\r\n');
    const message = 'an HTTP/1.1 request needs a Host header';
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ statusCode: 400, error: 'Bad Request', message });
    expect((await auditOf(400, message))?.data).toMatchObject({ method: 'GET', path: '/hello' });
    // HTTP/1.0 needs none; a well-formed request is served as before on its kept connection.
    expect(await rawHttp(port, 'GET /hello HTTP/1.0\r\n\r\n')).toMatchObject({ status: 200, body: '{"hello":true}' });
    expect(await rawHttp(port, 'GET /hello HTTP/1.1\r\nHost: x\r\n\r\n')).toMatchObject({ status: 200, closed: false });
  });

  it('answers a GET that carries a body without taking the body in: the connection is closed, not kept by draining it', async () => {
    const res = await rawHttp(port, `GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n${'x'.repeat(1024)}`);
    expect(res).toMatchObject({ status: 200, closed: true, headers: { connection: 'close' } });
    expect(await rawHttp(port, 'GET /hello HTTP/1.1\r\nHost: x\r\n\r\n')).toMatchObject({ status: 200, closed: false });
  });

  it('answers CONNECT 405 as JSON with Allow, closes the connection, and audits it (Node dropped it without a word; red team, 2026-12-05)', async () => {
    const res = await rawHttp(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    const message = 'CONNECT is not allowed: this server is not a proxy and opens no tunnels';
    expect(res).toMatchObject({ status: 405, closed: true, headers: { 'content-type': 'application/json; charset=utf-8', connection: 'close' } });
    expect(res.headers.allow).toBe('DELETE, GET, HEAD, PATCH, POST, PUT');
    expect(JSON.parse(res.body)).toEqual({ statusCode: 405, error: 'Method Not Allowed', message });
    expect((await auditOf(405, message))?.data).toEqual({
      service: 'test',
      method: 'CONNECT',
      path: 'example.com:443',
      status: 405,
      reason: message,
      principal: null,
    });
  });

  it("audits a flood of them within the source's budget, as the rejection filter's refusals: the audit does not grow with it", async () => {
    for (let i = 0; i < 40; i++) expect((await rawHttp(port, 'BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe(400);
    await new Promise((r) => setTimeout(r, 200));
    const one = audited.filter((e) => e.data.reason === 'malformed request line: Invalid method encountered').length;
    expect(one).toBeGreaterThan(0);
    expect(one).toBeLessThan(25);
  });
});

describe('connections per source (serve())', () => {
  it('closes a connection past the source’s limit before reading it, audits the refusal, and takes one again once another closes', async () => {
    const bus = new InMemoryBus({ logger });
    const audited: TopicMap[typeof TOPICS.requestRejected][] = [];
    await bus.subscribe({ group: 'test.audit', handlers: { [TOPICS.requestRejected]: async (e) => void audited.push(e) } });
    @Module({ imports: [PlatformModule.forRoot({ service: 'test', bus, logger, tokens: new TokenRegistry([]) })], controllers: [HelloController] })
    class Root {}
    const running = await serve(Root, logger, { host: '127.0.0.1', port: 0, connectionsPerSource: 3 });
    const sockets: Socket[] = [];
    /** A connection that sends nothing; resolves with it once open, and notes when the server closes it. */
    const open = () =>
      new Promise<Socket & { closedByServer?: Promise<void> }>((resolve, reject) => {
        const s = connect(running.port, '127.0.0.1', () => resolve(Object.assign(s, { closedByServer: new Promise<void>((r) => s.once('close', () => r())) })));
        s.on('error', () => undefined);
        s.once('error', reject);
        sockets.push(s);
      });
    try {
      // Three held open, sending nothing (a slow client, or a pool's idle connections).
      for (let i = 0; i < 3; i++) await open();
      const fourth = await open();
      await fourth.closedByServer;
      const message = 'too many connections from this address: at most 3 open at once';
      for (let i = 0; i < 100 && !audited.some((e) => e.data.reason === message); i++) await new Promise((r) => setTimeout(r, 20));
      expect(audited.find((e) => e.data.reason === message)?.data).toMatchObject({ status: 429, method: '', path: '', principal: null });
      // One of the three closes: the next connection is taken and answered.
      const first = sockets[0];
      await new Promise<void>((r) => (first.once('close', () => r()), first.destroy()));
      const again = await open();
      again.write('GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      const answer = await new Promise<string>((r) => {
        let text = '';
        again.on('data', (d: Buffer) => (text += d.toString()));
        again.once('close', () => r(text));
      });
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      for (const s of sockets) s.destroy();
      await running.app.close();
    }
  });
});

describe('a request whose body stalls (serve() with a short request timeout)', () => {
  @Controller()
  class EchoController {
    @Post('echo')
    @Roles('writer')
    echo(@Body() body: unknown) {
      return { body };
    }
  }
  const bus = new InMemoryBus({ logger });
  const audited: TopicMap[typeof TOPICS.requestRejected][] = [];
  let port: number;
  let server: Server;
  let close: () => Promise<void>;

  beforeAll(async () => {
    await bus.subscribe({ group: 'test.audit', handlers: { [TOPICS.requestRejected]: async (e) => void audited.push(e) } });
    const tokens = new TokenRegistry([{ principal: 'writer', kind: 'agent', roles: ['writer'], tokenSha256: sha256Hex('writer-token') }]);
    @Module({ imports: [PlatformModule.forRoot({ service: 'test', bus, logger, tokens })], controllers: [EchoController] })
    class Root {}
    // 300 ms instead of REQUEST_TIMEOUT_MS: the wiring is the same, the wait is not.
    const running = await serve(Root, logger, { host: '127.0.0.1', port: 0, requestTimeoutMs: 300 });
    port = running.port;
    server = running.app.getHttpServer() as Server;
    close = () => running.app.close();
  });
  afterAll(() => close());

  it('sets the request timeout it is given on its server (by default REQUEST_TIMEOUT_MS, not Node’s 300 s)', () => {
    expect(server.requestTimeout).toBe(300);
    expect(server.headersTimeout).toBeLessThanOrEqual(300);
    expect(REQUEST_TIMEOUT_MS).toBe(70_000);
  });

  it("answers 408 once the timeout passes and audits it once, under the request's correlation id and caller (red team, 2026-12-05)", async () => {
    const conn = await rawConnection(port);
    conn.write(
      'POST /echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer writer-token\r\nX-Correlation-Id: stalled-1\r\n' +
        'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":',
    );
    const answer = await conn.next();
    await conn.closed;
    const message = 'the request did not arrive in full in the time allowed';
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body)).toEqual({ statusCode: 408, error: 'Request Timeout', message });
    // A refusal audited after it: the in-memory bus delivers in order, so an entry the stalled request made as its
    // connection closed would be in before this one.
    expect((await rawHttp(port, 'POST /echo HTTP/1.1\r\nHost: x\r\nX-Correlation-Id: marker-1\r\nContent-Length: 0\r\n\r\n')).status).toBe(401);
    for (let i = 0; i < 100 && !audited.some((e) => e.correlationId === 'marker-1'); i++) await new Promise((r) => setTimeout(r, 20));
    expect(audited.some((e) => e.correlationId === 'marker-1')).toBe(true);
    const stalled = audited.filter((e) => e.correlationId === 'stalled-1');
    expect(stalled.map((e) => e.data)).toEqual([{ service: 'test', method: 'POST', path: '/echo', status: 408, reason: message, principal: 'writer' }]);
    expect(stalled[0].actor).toMatchObject({ id: 'writer' });
    expect(audited.filter((e) => e.data.reason.includes('ended early'))).toEqual([]);
  });
});
