import { Body, Controller, Get, HttpCode, Module, NotFoundException, Param, Post } from '@nestjs/common';
import pino from 'pino';
import { z } from 'zod';
import { InMemoryBus } from '@countersign/bus';
import Ajv2020 from 'ajv/dist/2020';
import { sha256Hex, Roles, TokenRegistry } from '../auth';
import { parseBody } from '../body';
import { PlatformModule, serve } from '../platform.module';
import { ERROR_BODY_SCHEMA, OpenApiDocument } from './document';
import { OpenApiDocumentHolder } from './openapi.controller';
import { ApiRoute } from './route-doc';
import { coverageGaps, servedRoutes } from './routes';

// real: the platform module in a Nest HTTP app (auth guard, JSON body reader, rejection filter), @nestjs/swagger's route
// scan, the OpenAPI 3.1 schema validator; fake: the controllers below, the tokens.
const logger = pino({ level: 'silent' });
const ThingBody = z.strictObject({ name: z.string().min(1).max(20) });

@Controller('things')
@Roles('maker')
class ThingsController {
  @ApiRoute({
    summary: 'Make a thing',
    body: ThingBody,
    ok: { status: 201, description: 'Made', schema: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } },
    errors: { 400: 'a name that does not validate', 409: 'a thing of that name exists' },
  })
  @Post()
  @HttpCode(201)
  make(@Body() body: unknown) {
    return parseBody(ThingBody, body);
  }

  @ApiRoute({ summary: 'One thing', ok: { description: 'The thing' }, errors: { 404: 'no such thing' }, unavailable: false })
  @Get(':id')
  one(@Param('id') id: string) {
    throw new NotFoundException(`no thing ${id}`);
  }
}

/** A route someone added without documenting it. */
@Controller('loose')
class LooseController {
  @Get()
  @Roles('maker')
  hi() {
    return { hi: true };
  }
}

/** What every app answers without a 4xx: the health probes (200, or 503 when not ready). */
const NO_REFUSALS = { 'GET /healthz': 'liveness probe', 'GET /readyz': 'readiness probe' };

async function start(controllers: Array<new (...a: never[]) => unknown>) {
  const tokens = new TokenRegistry([
    { principal: 'maker', kind: 'agent', roles: ['maker'], tokenSha256: sha256Hex('maker-token') },
    { principal: 'scraper', kind: 'service', roles: ['metrics'], tokenSha256: sha256Hex('scraper-token') },
  ]);
  @Module({ imports: [PlatformModule.forRoot({ service: 'test', bus: new InMemoryBus({ logger }), logger, tokens })], controllers })
  class Root {}
  const { app, port } = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
  const doc = app.get(OpenApiDocumentHolder).document!;
  return { app, url: `http://127.0.0.1:${port}`, doc };
}

describe('the OpenAPI document', () => {
  let running: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => (running = await start([ThingsController])));
  afterAll(() => running.app.close());

  // Validity against the OpenAPI 3.1 schema is checked on the embedded process's document, which holds every route
  // (apps/embedded/src/openapi.spec.ts: libs/testing, which has the validator, depends on this lib).
  it('is OpenAPI 3.1, with the refusal body as a component', () => {
    expect(running.doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(running.doc.components.schemas).toEqual({ Error: ERROR_BODY_SCHEMA });
  });

  it("says who may call each route, from the guard's own metadata", () => {
    const make = running.doc.paths['/things'].post;
    expect(make.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(make.responses)).toEqual(['201', '400', '401', '403', '409', '413', '415', '503']);
    expect(make.responses['403']).toMatchObject({ description: 'the token has none of the roles maker' });
    expect(running.doc.paths['/healthz'].get).toMatchObject({ security: [], description: expect.stringContaining('No authentication: a health probe') });
    // Any valid token reads the document: bearer and 401, no 403; a token's read may meet the read limits (429), a write not.
    expect(running.doc.paths['/openapi.json'].get.security).toEqual([{ bearer: [] }]);
    expect(Object.keys(running.doc.paths['/openapi.json'].get.responses)).toEqual(['200', '400', '401', '429', '503']);
    expect(running.doc.paths['/openapi.json'].get.responses['429']).toMatchObject({
      description: expect.stringContaining('READS_IN_FLIGHT'),
      headers: { 'Retry-After': expect.anything() },
    });
    expect(running.doc.paths['/healthz'].get.responses['429']).toBeUndefined();
    expect(running.doc.components.securitySchemes).toMatchObject({ bearer: { type: 'http', scheme: 'bearer' } });
  });

  it('takes request bodies from the zod schemas the routes parse with', () => {
    const body = running.doc.paths['/things'].post.requestBody as { required: boolean; content: Record<string, { schema: Record<string, unknown> }> };
    expect(body.required).toBe(true);
    expect(body.content['application/json'].schema).toMatchObject({
      type: 'object',
      required: ['name'],
      additionalProperties: false,
      properties: { name: { type: 'string', minLength: 1, maxLength: 20 } },
    });
  });

  it('documents the refusals the routes really answer, in the shape they answer them', async () => {
    const bad = await fetch(`${running.url}/things`, {
      method: 'POST',
      headers: { Authorization: 'Bearer maker-token', 'Content-Type': 'application/json' },
      body: '{"name": ""}',
    });
    expect(bad.status).toBe(400);
    expect(running.doc.paths['/things'].post.responses['400']).toMatchObject({
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    });
    const validate = new Ajv2020({ strict: false }).compile(ERROR_BODY_SCHEMA);
    expect(validate(await bad.json())).toBe(true);
    // and the documented shape is strict enough to refuse another one
    expect(validate({ error: 'Bad Request' })).toBe(false);
    const missing = await fetch(`${running.url}/things/x`, { headers: { Authorization: 'Bearer maker-token' } });
    expect(missing.status).toBe(404);
    expect(running.doc.paths['/things/{id}'].get.responses['404']).toMatchObject({ description: 'no such thing' });
    expect(validate(await missing.json())).toBe(true);
  });

  it('is served at /openapi.json to any valid token, and to no one without one', async () => {
    const anon = await fetch(`${running.url}/openapi.json`);
    expect(anon.status).toBe(401);
    expect(new Ajv2020({ strict: false }).compile(ERROR_BODY_SCHEMA)(await anon.json())).toBe(true);
    const forged = await fetch(`${running.url}/openapi.json`, { headers: { Authorization: 'Bearer not-a-token' } });
    expect(forged.status).toBe(401);
    for (const token of ['maker-token', 'scraper-token']) {
      const res = await fetch(`${running.url}/openapi.json`, { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(running.doc);
    }
  });

  it('covers every route the HTTP server routes', () => {
    const routes = servedRoutes(running.app);
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining(['POST /things', 'GET /things/{id}', 'GET /openapi.json', 'GET /healthz']),
    );
    expect(coverageGaps(routes, running.doc, { noRefusals: NO_REFUSALS })).toEqual([]);
  });

  it('the coverage check fails for a route missing from the document, or without its refusals', () => {
    const routes = servedRoutes(running.app);
    const missing = structuredClone(running.doc) as OpenApiDocument;
    delete missing.paths['/things/{id}'];
    expect(coverageGaps(routes, missing, { noRefusals: NO_REFUSALS })).toEqual(['GET /things/{id}: not in the document']);
    const bare = structuredClone(running.doc) as OpenApiDocument;
    bare.paths['/things/{id}'].get.responses = { '200': { description: 'The thing' } };
    expect(coverageGaps(routes, bare, { noRefusals: NO_REFUSALS })).toEqual(['GET /things/{id}: no 4xx answer', 'GET /things/{id}: a token route without 401']);
    expect(coverageGaps(routes, running.doc)).toEqual(['GET /healthz: no 4xx answer', 'GET /readyz: no 4xx answer']);
  });

  it('the coverage check names a route added without @ApiRoute', async () => {
    const loose = await start([ThingsController, LooseController]);
    try {
      expect(coverageGaps(servedRoutes(loose.app), loose.doc, { noRefusals: NO_REFUSALS })).toEqual([
        'GET /loose: no summary (no @ApiRoute)',
        'GET /loose: no 4xx answer',
        'GET /loose: no security requirement',
      ]);
    } finally {
      await loose.app.close();
    }
  });
});
