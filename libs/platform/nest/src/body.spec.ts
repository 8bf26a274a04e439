import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { BadRequestException, Body, Controller, HttpException, Post, UnsupportedMediaTypeException } from '@nestjs/common';
import { readJsonBody, readsBody, routeReadsBody, unsupportedBody } from './body';
import { ApiRoute } from './openapi/route-doc';

// real: the body reader and the strict parser; fake: the request (a stream with headers) and the response (its headers).
type Read = { body?: unknown; headers: Record<string, string>; error?: HttpException };

async function read(
  body: Buffer | string,
  headers: Record<string, string>,
  method = 'POST',
  maxBytes?: number,
  headersDistinct?: Record<string, string[]>,
): Promise<Read> {
  const distinct = headersDistinct ?? Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]]));
  const req = Object.assign(Readable.from([Buffer.from(body)]), { method, headers, headersDistinct: distinct }) as unknown as IncomingMessage;
  const sent: Record<string, string> = {};
  const res = { setHeader: (name: string, value: string) => void (sent[name.toLowerCase()] = value) };
  try {
    return { body: await readJsonBody(req, res, maxBytes), headers: sent };
  } catch (e) {
    if (!(e instanceof HttpException)) throw e;
    return { headers: sent, error: e };
  }
}
const refusal = (r: Read) => ({ status: r.error?.getStatus(), message: (r.error?.getResponse() as { message?: string } | undefined)?.message });

describe('JSON body reader', () => {
  const json = '{"reason":"checked the order"}';

  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'Application/JSON; Charset="utf-8"',
    'application/json; charset=utf8',
    'application/json ; charset=utf-8 ;',
    'application/merge-patch+json; charset=utf-8',
    'application/json; profile="https://example.org/a;b"; charset=utf-8',
  ])('reads a UTF-8 JSON body labelled %j', async (type) => {
    expect(await read(json, { 'content-type': type })).toEqual({ body: { reason: 'checked the order' }, headers: {} });
  });

  it.each([
    ['application/json; charset=latin1', 'latin1'],
    ['application/json; charset=ISO-8859-1', 'ISO-8859-1'],
    ['application/json; charset=utf-16', 'utf-16'],
    ['application/json;charset="utf-16le"', 'utf-16le'],
    ['application/json; charset=utf-8; charset=utf-16', 'utf-16'],
    ['application/json; charset=us-ascii', 'us-ascii'],
  ])('refuses %j with 415 instead of reading the body as UTF-8', async (type, charset) => {
    const r = await read(json, { 'content-type': type });
    expect(r.error).toBeInstanceOf(UnsupportedMediaTypeException);
    expect(refusal(r)).toEqual({
      status: 415,
      message: `request body must be UTF-8 JSON: charset "${charset}" is not supported (send charset=utf-8, or no charset)`,
    });
    expect(r.body).toBeUndefined();
  });

  it.each(['deflate', 'gzip', 'br', 'x-gzip', 'compress', 'zstd', 'identity, gzip', 'GZIP'])(
    'refuses Content-Encoding %j with 415 and Accept-Encoding: identity, whatever the body is',
    async (coding) => {
      // A plain body labelled compressed: before, deflate was ignored (and read) while gzip failed as invalid UTF-8.
      const r = await read(json, { 'content-type': 'application/json', 'content-encoding': coding });
      const named = coding.split(',').pop()!.trim();
      expect(refusal(r)).toEqual({
        status: 415,
        message: `request body must not be compressed: Content-Encoding "${named}" is not supported (send the JSON as is)`,
      });
      expect(r.headers).toEqual({ 'accept-encoding': 'identity' });
    },
  );

  it.each(['identity', 'Identity', '', ' identity , identity '])('reads a body with Content-Encoding %j as sent', async (coding) => {
    expect((await read(json, { 'content-type': 'application/json', 'content-encoding': coding })).body).toEqual({ reason: 'checked the order' });
  });

  it.each([
    ['no Content-Type', undefined, 'request body must be application/json'],
    ['text/plain', 'text/plain', 'request body must be application/json'],
    ['a type that only starts like JSON', 'application/json-seq', 'request body must be application/json'],
    ['a parameter without a value', 'application/json; charset', 'request body must be application/json: malformed Content-Type "application/json; charset"'],
  ])('refuses %s with 415', async (_name, type, message) => {
    expect(refusal(await read(json, type === undefined ? {} : { 'content-type': type }))).toEqual({ status: 415, message });
  });

  it('refuses a __proto__ key with 400 naming the object, instead of dropping it', async () => {
    const r = await read('{"parameters":{"body":"ok","__proto__":{"x":1}}}', { 'content-type': 'application/json' });
    expect(r.error).toBeInstanceOf(BadRequestException);
    expect(refusal(r)).toEqual({ status: 400, message: 'malformed JSON body: key "__proto__" is not allowed in the object at /parameters' });
  });

  it("reads a DELETE's body as strictly as any other: it was ignored, and a reason of any shape was taken (red team, 2026-12-04)", async () => {
    expect([readsBody('DELETE'), readsBody('POST'), readsBody('GET'), readsBody('HEAD')]).toEqual([true, true, false, false]);
    expect(await read(json, { 'content-type': 'application/json' }, 'DELETE')).toEqual({ body: { reason: 'checked the order' }, headers: {} });
    expect(refusal(await read('{"a":1,"a":2}', { 'content-type': 'application/json' }, 'DELETE'))).toMatchObject({ status: 400 });
    expect(await read('', {}, 'DELETE')).toEqual({ body: undefined, headers: {} });
  });

  it.each([
    ['in a value', '{"a":"x\\u0000y"}', 'the string at /a'],
    ['deep in an array', '{"a":{"b":["ok","\\u0000"]}}', 'the string at /a/b/1'],
    ['in a key', '{"a":{"k\\u0000":1}}', 'a key of the object at /a'],
    ['as the whole body', '"\\u0000"', 'the body (a string)'],
  ])('refuses a NUL character %s with 400 naming where, instead of failing as a 500 where it is stored (red team, 2026-12-05)', async (_n, body, where) => {
    expect(refusal(await read(body, { 'content-type': 'application/json' }))).toEqual({
      status: 400,
      message: `malformed JSON body: ${where} contains a NUL character (\\u0000), which Countersign does not store`,
    });
  });

  it('refuses a raw NUL byte with the same message, and still reads an escaped backslash followed by u0000 (text, not NUL)', async () => {
    expect(refusal(await read(Buffer.from('{"a":"x\0"}'), { 'content-type': 'application/json' }))).toEqual({
      status: 400,
      message: 'malformed JSON body: byte 7 is a NUL character (\\u0000), which Countersign does not store',
    });
    expect((await read('{"a":"\\\\u0000"}', { 'content-type': 'application/json' })).body).toEqual({ a: '\\u0000' });
  });

  it('refuses two Content-Type headers with 400, whichever comes first (red team, 2026-12-05: first won, 200 one way, 415 the other)', async () => {
    for (const types of [
      ['application/json', 'text/plain'],
      ['text/plain', 'application/json'],
      ['application/json', 'application/json'],
    ]) {
      expect(refusal(await read(json, { 'content-type': types[0] }, 'POST', undefined, { 'content-type': types }))).toEqual({
        status: 400,
        message: 'more than one Content-Type header: send one (application/json)',
      });
    }
  });

  it("takes a route's own body limit in place of the 64 KiB one (a change request's contract)", async () => {
    const big = JSON.stringify({ contract: 'x'.repeat(100_000) });
    expect(refusal(await read(big, { 'content-type': 'application/json' }))).toEqual({ status: 413, message: 'request body is over the 65536-byte limit' });
    expect((await read(big, { 'content-type': 'application/json' }, 'POST', 1024 * 1024)).body).toEqual({ contract: 'x'.repeat(100_000) });
    expect(refusal(await read(big, { 'content-type': 'application/json', 'content-length': String(big.length) }, 'POST', 50_000))).toEqual({
      status: 413,
      message: `request body is ${big.length} bytes, over the 50000-byte limit`,
    });
  });

  it('still refuses a duplicate key with 400', async () => {
    expect(refusal(await read('{"a":1,"a":2}', { 'content-type': 'application/json' }))).toEqual({
      status: 400,
      message: 'malformed JSON body: duplicate key "a" in the object at /',
    });
  });
});

describe('unsupportedBody', () => {
  it('says nothing for UTF-8 JSON as sent, and names the first problem otherwise', () => {
    expect(unsupportedBody('application/json; charset=utf-8', undefined)).toBeUndefined();
    expect(unsupportedBody('application/json; charset=latin1', 'gzip')).toEqual({
      message: 'request body must be UTF-8 JSON: charset "latin1" is not supported (send charset=utf-8, or no charset)',
    });
    expect(unsupportedBody('application/json', 'deflate')).toEqual({
      message: 'request body must not be compressed: Content-Encoding "deflate" is not supported (send the JSON as is)',
      coding: true,
    });
    expect(unsupportedBody(`application/json; charset=${'x'.repeat(300)}`, undefined)?.message).toContain(`"${'x'.repeat(100)}"… is not`);
    // A header is the sender's text: what is not printable ASCII is shown escaped, never as is (obs-text arrives as Latin-1).
    expect(unsupportedBody('application/json', 'gz\u0085ip\u00ae')?.message).toBe(
      'request body must not be compressed: Content-Encoding "gz\\u0085ip\\u00ae" is not supported (send the JSON as is)',
    );
  });
});

describe('routeReadsBody', () => {
  @Controller()
  class Routes {
    @ApiRoute({ summary: 'declared', body: { type: 'object' }, ok: { description: 'ok' } })
    @Post('a')
    declared() {}

    @Post('b')
    parameter(@Body() _body: unknown) {}

    @ApiRoute({ summary: 'none', public: 'sign-out', ok: { description: 'ok' } })
    @Post('c')
    none() {}

    @Post('d')
    undocumented() {}
  }
  const proto = Routes.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;

  it('is true for a route that declares a body (ApiRoute `body`, or a @Body() parameter), false for any other', () => {
    expect(['declared', 'parameter', 'none', 'undocumented'].map((name) => routeReadsBody(Routes, proto[name]))).toEqual([true, true, false, false]);
  });
});
