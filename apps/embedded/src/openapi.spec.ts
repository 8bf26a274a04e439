import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { z } from 'zod';
import { closeObjects, ProposalSchema } from '@countersign/contracts';
import { coverageGaps, OpenApiDocument } from '@countersign/nest';
import { documentedResponse, uncompilableSchemas, validateOpenApi } from '@countersign/testing';
import { startEmbedded } from './embedded';

// real: all five services in one process (every service's controllers and the platform's), the HTTP server's own
// router, @nestjs/swagger's scan, the OpenAPI 3.1 schema validator; fake: the target system (the embedded sink).
describe("the OpenAPI document of the embedded process (every service's routes)", () => {
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  let doc: OpenApiDocument;
  const token = (name: string) => readFileSync(join(running.home, 'tokens', name), 'utf8');

  beforeAll(async () => {
    running = await startEmbedded({ home: mkdtempSync(join(tmpdir(), 'countersign-openapi-')), port: 0, logger: pino({ level: 'silent' }) });
    const res = await fetch(`${running.url}/openapi.json`, { headers: { Authorization: `Bearer ${token('agent')}` } });
    expect(res.status).toBe(200);
    doc = (await res.json()) as OpenApiDocument;
  }, 90_000); // a first start makes the home's database
  afterAll(() => running.close());

  it('is a valid OpenAPI 3.1 document whose schemas all compile', async () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    const result = await validateOpenApi(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(uncompilableSchemas(doc)).toEqual([]);
  });

  it('the validator refuses a broken document (the check can fail)', async () => {
    const broken = structuredClone(doc);
    (broken.paths['/v1/proposals'].post as Record<string, unknown>).responses = 'none';
    expect((await validateOpenApi(broken)).valid).toBe(false);
    const wrongVersion = { ...structuredClone(doc), openapi: '3.1' };
    expect((await validateOpenApi(wrongVersion)).valid).toBe(false);
  });

  it('covers every route the HTTP server routes, each with its refusals and who may call it', () => {
    const routes = running.servedRoutes();
    // Every service's routes are here: one of each, and the platform's.
    expect(routes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        'POST /v1/proposals',
        'GET /v1/actions/{id}',
        'GET /v1/policy',
        'POST /v1/reviews/{actionId}/approve',
        'GET /v1/audit/entries',
        'GET /reviews',
        'GET /metrics',
        'GET /openapi.json',
      ]),
    );
    expect(routes.length).toBeGreaterThan(50);
    expect(
      coverageGaps(routes, doc, {
        noRefusals: {
          'GET /healthz': 'liveness probe',
          'GET /readyz': 'readiness probe (200, or 503 when not ready)',
          'GET /reviews/quality/assets/governance.css': 'a fixed static file',
          'GET /reviews/quality/assets/second-review.js': 'a fixed static file',
          'GET /auth/signed-out': 'a fixed page',
          'GET /auth/sign-in': 'always a redirect to the identity provider (an unsafe returnTo becomes /reviews)',
        },
      }),
    ).toEqual([]);
  });

  it('documents the 400 of a path id that is no identifier, beside the route own 400s', () => {
    const view = doc.paths['/v1/actions/{id}'].get.responses['400'] as { description: string };
    expect(view.description).toMatch(/waitFor.*; id over 200 characters, or with control or invisible characters/);
    const approve = doc.paths['/v1/reviews/{actionId}/approve'].post.responses['400'] as { description: string };
    expect(approve.description).toMatch(/malformed JSON body.*; actionId over 200 characters/);
  });

  it('documents POST /v1/proposals with the proposal schema of libs/contracts and its refusals', () => {
    const op = doc.paths['/v1/proposals'].post;
    const { $schema: _d, ...proposal } = z.toJSONSchema(ProposalSchema, { target: 'draft-2020-12', io: 'input', unrepresentable: 'any' }) as Record<
      string,
      unknown
    >;
    // Closed: a field the proposal does not name is a 400 (parseBody), and the document says so for every named object.
    const body = (op.requestBody as { content: Record<string, { schema: unknown }> }).content['application/json'].schema;
    expect(body).toEqual(closeObjects(proposal));
    expect(body).toMatchObject({
      additionalProperties: false,
      properties: { proposer: { additionalProperties: false }, parameters: { additionalProperties: {} } },
    });
    expect(Object.keys(op.responses)).toEqual(['202', '400', '401', '403', '409', '413', '415', '429', '503']);
    expect(op.parameters).toEqual([expect.objectContaining({ name: 'idempotency-key', in: 'header', required: false })]);
    // A 429 says when to try again, as the 503 does (agent developer probe, 2026-12-05).
    expect(op.responses['429']).toMatchObject({ headers: { 'Retry-After': { schema: { type: 'integer' } } } });
  });

  it("documents the read limits on the inbox's signed-in pages as on a token's reads, and not on its writes", () => {
    for (const path of ['/reviews', '/reviews/list', '/reviews/{actionId}/card', '/reviews/governance'])
      expect(doc.paths[path].get.responses['429']).toMatchObject({
        description: expect.stringMatching(/^past the signed-in person's read rate/),
        headers: { 'Retry-After': { schema: { type: 'integer' } } },
      });
    expect(doc.paths['/reviews/{actionId}/claim'].post.responses['429']).toBeUndefined();
  });

  it("documents an action's lane as null until it is decided (agent developer probe, 2026-12-05)", () => {
    const validate = documentedResponse(doc, 'GET', '/v1/actions/{id}', 200);
    expect(validate({ actionId: 'a-1', status: 'proposed', lane: null, timeline: [] })).toBe(true);
    expect(validate({ actionId: 'a-1', status: 'proposed', lane: 7, timeline: [] })).toBe(false);
  });

  it('answers successful calls in the shapes it documents', async () => {
    const example = JSON.parse(readFileSync(join(__dirname, '../examples/refund-small.json'), 'utf8'));
    const proposed = await fetch(`${running.url}/v1/proposals`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token('agent')}` },
      body: JSON.stringify(example),
    });
    expect(proposed.status).toBe(202);
    const accepted = (await proposed.json()) as { actionId: string };
    expect(documentedResponse(doc, 'POST', '/v1/proposals', 202)(accepted)).toBe(true);
    const calls: Array<[method: string, path: string, url: string, tokenName: string, status: number]> = [
      ['GET', '/v1/actions/{id}', `/v1/actions/${accepted.actionId}?waitFor=decision&timeoutMs=20000`, 'agent', 200],
      ['GET', '/v1/policy', '/v1/policy', 'agent', 200],
      ['GET', '/v1/policy/change-requests', '/v1/policy/change-requests', 'admin', 200],
      ['GET', '/v1/autonomy/raise-requests', '/v1/autonomy/raise-requests', 'admin', 200],
      ['GET', '/v1/reviews', '/v1/reviews', 'reviewer', 200],
      ['POST', '/v1/reviewers/heartbeat', '/v1/reviewers/heartbeat', 'reviewer', 200],
      // No claim held on it (none is, on an item nobody proposed): `released: false`, not 404 (red team, 2026-12-07).
      ['POST', '/v1/reviews/{actionId}/release', '/v1/reviews/no-such-item/release', 'reviewer', 200],
      ['GET', '/v1/governance', '/v1/governance', 'auditor', 200],
      ['GET', '/v1/audit/heads', '/v1/audit/heads', 'auditor', 200],
      ['GET', '/v1/audit/entries', `/v1/audit/entries?actionId=${accepted.actionId}`, 'auditor', 200],
      ['GET', '/healthz', '/healthz', 'agent', 200],
      ['GET', '/openapi.json', '/openapi.json', 'metrics', 200],
      // and refusals
      ['GET', '/v1/actions/{id}', '/v1/actions/no-such-action', 'agent', 404],
      ['GET', '/v1/policy/change-requests/{id}', '/v1/policy/change-requests/not-a-uuid', 'admin', 404],
      ['GET', '/v1/audit/entries', '/v1/audit/entries', 'auditor', 400],
      ['GET', '/v1/reviews', '/v1/reviews', 'agent', 403],
      ['POST', '/v1/reviews/{actionId}/approve', `/v1/reviews/${accepted.actionId}/approve`, 'reviewer', 400],
    ];
    for (const [method, path, url, tokenName, status] of calls) {
      const res = await fetch(`${running.url}${url}`, { method, headers: { Authorization: `Bearer ${token(tokenName)}` } });
      const validate = documentedResponse(doc, method, path, status);
      const body = await res.json();
      expect({ call: `${method} ${url}`, status: res.status, valid: validate(body), errors: validate.errors }).toEqual({
        call: `${method} ${url}`,
        status,
        valid: true,
        errors: null,
      });
    }
  });

  it('answers a bad proposal as it documents it: 400 with the Error body', async () => {
    const res = await fetch(`${running.url}/v1/proposals`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token('agent')}` },
      body: JSON.stringify({ actionType: 'support.refund' }),
    });
    expect(res.status).toBe(400);
    const validate = documentedResponse(doc, 'POST', '/v1/proposals', 400);
    expect(validate(await res.json())).toBe(true);
  });
});
