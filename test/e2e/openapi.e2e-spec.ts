import { join } from 'node:path';
import { newId } from '@countersign/contracts';
import type { OpenApiDocument } from '@countersign/nest';
import { call, documentedResponse, SERVICES, startDistributed, startWebhookSink, uniqueName, validateOpenApi } from '@countersign/testing';

// real: Apache Kafka, Redis, PostgreSQL, Unleash (infra/stack.sh), the five services as separate processes, wired
// by their own mains; fake: the target system (a local webhook sink).
jest.setTimeout(180_000);

/** A route of each service that its own document must list (the embedded process's test covers every route). */
const OWN_ROUTE: Record<(typeof SERVICES)[number], [string, string]> = {
  orchestrator: ['/v1/proposals', 'post'],
  'policy-engine': ['/v1/policy', 'get'],
  'review-queue': ['/v1/reviews/{actionId}/approve', 'post'],
  'audit-writer': ['/v1/audit/entries', 'get'],
  executor: ['/readyz', 'get'],
};

describe('GET /openapi.json on the running services (docs/adr/0023)', () => {
  const ns = uniqueName('e2e_openapi');
  let stack: Awaited<ReturnType<typeof startDistributed>>;
  let sink: Awaited<ReturnType<typeof startWebhookSink>>;
  const docs = {} as Record<(typeof SERVICES)[number], OpenApiDocument>;

  beforeAll(async () => {
    sink = await startWebhookSink();
    stack = await startDistributed({ namespace: ns, webhookUrl: sink.url, actionTypes: ['support.refund'], dir: join(__dirname, '../../.stack/e2e', ns) });
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    await stack?.dropDatabase();
    await sink?.close();
  });

  it('each service serves a valid OpenAPI 3.1 document of its own routes, to any valid token and to no one without', async () => {
    for (const service of SERVICES) {
      const url = `${stack.urls[service]}/openapi.json`;
      expect((await call('GET', url)).status).toBe(401);
      // Any role will do: the Prometheus scrape token reads it as well as an agent's.
      const res = await call('GET', url, undefined, stack.tokens.metrics);
      expect(res.status).toBe(200);
      const doc = res.body as unknown as OpenApiDocument;
      expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
      expect(doc.info.title).toBe(`Countersign ${service}`);
      const result = await validateOpenApi(doc);
      expect({ service, errors: result.errors }).toEqual({ service, errors: undefined });
      const [path, method] = OWN_ROUTE[service];
      expect(doc.paths[path]?.[method]?.summary).toBeTruthy();
      docs[service] = doc;
    }
    // Each document lists its own service's routes only.
    expect(docs.executor.paths['/v1/proposals']).toBeUndefined();
    expect(docs.orchestrator.paths['/v1/audit/entries']).toBeUndefined();
  });

  it('POST /v1/proposals answers as its document says: 400 and 202 in the documented shapes', async () => {
    const doc =
      docs.orchestrator ?? ((await call('GET', `${stack.urls.orchestrator}/openapi.json`, undefined, stack.tokens.agent)).body as unknown as OpenApiDocument);
    const url = `${stack.urls.orchestrator}/v1/proposals`;
    const bad = await call('POST', url, { actionType: 'support.refund', target: 'order-1' }, stack.tokens.agent);
    expect(bad.status).toBe(400);
    const as400 = documentedResponse(doc, 'POST', '/v1/proposals', 400);
    expect({ valid: as400(bad.body), errors: as400.errors }).toEqual({ valid: true, errors: null });
    expect(bad.body.message).toMatch(/parameters|proposer|confidence/);

    const good = await call(
      'POST',
      url,
      {
        actionType: 'support.refund',
        target: `order-${newId()}`,
        parameters: { amount: 20, currency: 'EUR', reason: 'late delivery' },
        proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
        confidence: 0.97,
        tenant: 'acme',
        region: 'eu-west',
        context: {},
      },
      stack.tokens.agent,
    );
    expect(good.status).toBe(202);
    expect(documentedResponse(doc, 'POST', '/v1/proposals', 202)(good.body)).toBe(true);

    // A token without the agent role: the documented 403, in the documented shape.
    const forbidden = await call('POST', url, {}, stack.tokens.auditor);
    expect(forbidden.status).toBe(403);
    expect(Object.keys(doc.paths['/v1/proposals'].post.responses)).toContain('403');
    expect(documentedResponse(doc, 'POST', '/v1/proposals', 403)(forbidden.body)).toBe(true);
  });
});
