import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { KafkaBus } from '@countersign/bus';
import { newId, TOPICS } from '@countersign/contracts';
import type { OpenApiDocument } from '@countersign/nest';
import {
  call,
  copilotProposal as proposal,
  documentedResponse,
  eventually,
  SERVICES,
  stackEnv,
  startDistributed,
  startWebhookSink,
  uniqueName,
  validateOpenApi,
} from '@countersign/testing';

// real: Apache Kafka, Redis, PostgreSQL, Unleash (infra/stack.sh), the five services as separate processes, wired
// by their own mains, logging at debug; fake: the target system (a local webhook sink that records what it receives, the
// `traceparent` included).
// Features that need the same stack and leave it as they found it share one start of the five services: each file that
// starts its own spends 20–50 s of the suite's two cores on it (it was three files).
jest.setTimeout(180_000);

/** A route of each service that its own document must list (the embedded process's test covers every route). */
const OWN_ROUTE: Record<(typeof SERVICES)[number], [string, string]> = {
  orchestrator: ['/v1/proposals', 'post'],
  'policy-engine': ['/v1/policy', 'get'],
  'review-queue': ['/v1/reviews/{actionId}/approve', 'post'],
  'audit-writer': ['/v1/audit/entries', 'get'],
  executor: ['/readyz', 'get'],
};

const TRACE_ID = 'c0ffee0ddba11dea5e1ec7ab1e5eed01';
const CALLER_SPAN = '00f067aa0ba902b7';

/** The JSON lines of a service's log (other lines, if any, are skipped). */
function logLines(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('the five services on one stack (support.refund, support.reply; debug logs)', () => {
  const ns = uniqueName('e2e_api');
  let stack: Awaited<ReturnType<typeof startDistributed>>;
  let sink: Awaited<ReturnType<typeof startWebhookSink>>;

  beforeAll(async () => {
    sink = await startWebhookSink();
    stack = await startDistributed({
      namespace: ns,
      webhookUrl: sink.url,
      actionTypes: ['support.refund', 'support.reply'],
      dir: join(__dirname, '../../.stack/e2e', ns),
      // Debug: every handled event leaves a line (`event handled`), so each service's part of an action shows in its log.
      logLevel: 'debug',
    });
  }, 300_000);

  afterAll(async () => {
    if (stack) {
      const bus = new KafkaBus({ ...stackEnv().kafkaBus, clientId: 'e2e-api', namespace: ns, logger: pino({ level: 'silent' }) });
      await bus.deleteNamespaceTopics().catch(() => undefined);
      await bus.close();
    }
    await stack?.stop();
    await stack?.dropDatabase();
    await sink?.close();
  });

  describe('GET /openapi.json on the running services (docs/adr/0023)', () => {
    const docs = {} as Record<(typeof SERVICES)[number], OpenApiDocument>;

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
        proposal('support.refund', `order-${newId()}`, { amount: 20, currency: 'EUR', reason: 'late delivery' }),
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

  describe('approve with changes (docs/adr/0017): a new version, evaluated again, approved by the digest the reviewer approved', () => {
    const reviews = () => `${stack.urls['review-queue']}/v1/reviews`;
    const action = (id: string) => call('GET', `${stack.urls.orchestrator}/v1/actions/${id}`, undefined, stack.tokens.auditor);
    const audit = async (query: string) =>
      (await call('GET', `${stack.urls['audit-writer']}/v1/audit/entries?${query}`, undefined, stack.tokens.auditor)).body.entries as Array<{
        eventType: string;
        data: Record<string, unknown>;
      }>;

    it('revise → new action → evaluated → approved → executed once with the masked card kept; the original ends as revised', async () => {
      const card = '4111 1111 1111 1111';
      const submitted = await call(
        'POST',
        `${stack.urls.orchestrator}/v1/proposals`,
        proposal('support.refund', `order-${newId()}`, { amount: 480, currency: 'EUR', reason: 'damaged item', card }),
        stack.tokens.agent,
      );
      expect(submitted.status).toBe(202);
      const original = submitted.body.actionId as string;
      let shown: { shownDigest: string; proposal: { parameters: Record<string, unknown> } } | undefined;
      await eventually(
        async () => {
          const got = await call('GET', `${reviews()}/${original}`, undefined, stack.tokens.reviewer);
          expect(got.status).toBe(200);
          shown = got.body as typeof shown;
        },
        60_000,
        100,
      );
      // The reviewer sees the card masked, and edits only the amount.
      expect(shown!.proposal.parameters.card).toBe('[card …1111]');
      const edited = { ...shown!.proposal.parameters, amount: 300 };
      const bad = await call('POST', `${reviews()}/${original}/revise`, { parameters: [1], reason: 'x'.repeat(5) }, stack.tokens.reviewer);
      expect(bad.status).toBe(400);
      expect(bad.body.message).toMatch(/parameters/);

      const revised = await call(
        'POST',
        `${reviews()}/${original}/revise`,
        { parameters: edited, reason: 'refund the item, not the shipping', shownDigest: shown!.shownDigest },
        stack.tokens.reviewer,
      );
      expect(revised.status).toBe(200);
      expect(revised.body).toMatchObject({ actionId: original, status: 'revised', changed: ['/amount'] });
      const created = revised.body.newActionId as string;

      // The new action is evaluated again (review lane: 300 EUR is above the autonomous limit), the reviewer's approval of
      // that digest decides it, and it runs once, with the real card the reviewer never saw.
      await eventually(async () => expect((await audit(`actionId=${created}&type=${TOPICS.actionExecuted}`)).length).toBe(1), 90_000, 200);
      const decided = await audit(`actionId=${created}&type=${TOPICS.policyDecided}`);
      expect(decided[0].data).toMatchObject({ lane: 'review', revisionOf: { actionId: original, by: 'alice' } });
      const approvals = await audit(`actionId=${created}&type=${TOPICS.reviewDecided}`);
      expect(approvals).toHaveLength(1);
      // Bound to the new version's digest, which the reviewer (no pii:view) is not told: it covers the card left masked.
      expect(revised.body).not.toHaveProperty('revisedDigest');
      expect(approvals[0].data).toMatchObject({ decision: 'approved', digest: decided[0].data.digest, reviewers: [{ id: 'alice' }] });
      expect(sink.effects(created)).toBe(1);
      expect(sink.receipts.find((r) => r.actionId === created)!.body).toMatchObject({ parameters: { amount: 300, currency: 'EUR', card } });

      // The original ends as revised, names its successor, and never runs.
      await eventually(async () => expect((await action(original)).body).toMatchObject({ status: 'revised', revisedTo: created }), 60_000, 200);
      await eventually(async () => expect((await action(created)).body).toMatchObject({ status: 'executed', revisionOf: original }), 60_000, 200);
      expect(sink.effects(original)).toBe(0);
      expect(await audit(`actionId=${original}&type=${TOPICS.proposalRevised}`)).toHaveLength(1);
      expect(await audit(`actionId=${original}&type=${TOPICS.actionRefused}`)).toEqual([]);
      const late = await call('POST', `${reviews()}/${original}/approve`, { reason: 'approve the old one too' }, stack.tokens.reviewer2);
      expect(late.status).toBe(409);
      expect(sink.effects(original)).toBe(0);
    });
  });

  describe('one action followed across the five services by its W3C trace', () => {
    const api = () => stack.urls.orchestrator;

    const propose = async (headers: Record<string, string>) => {
      const res = await call(
        'POST',
        `${api()}/v1/proposals`,
        proposal('support.reply', `ticket-${newId()}`, { body: 'Your parcel ships tomorrow.' }),
        stack.tokens.agent,
        headers,
      );
      expect(res.status).toBe(202);
      const id = res.body.actionId as string;
      await eventually(
        async () => expect((await call('GET', `${api()}/v1/actions/${id}`, undefined, stack.tokens.agent)).body.status).toBe('executed'),
        90_000,
        100,
      );
      return id;
    };
    const auditEntries = (correlationId: string) =>
      eventually(
        async () => {
          const res = await call('GET', `${stack.urls['audit-writer']}/v1/audit/entries?correlationId=${correlationId}`, undefined, stack.tokens.auditor);
          const entries = res.body.entries as Array<{ type: string; traceId?: string }>;
          expect(entries.map((e) => e.type)).toEqual(expect.arrayContaining([TOPICS.actionProposed, TOPICS.policyDecided, TOPICS.actionExecuted]));
          return entries;
        },
        60_000,
        100,
      );

    it('the caller’s traceparent reaches the webhook target, every audit entry, and a log line of each service beside the correlation id', async () => {
      const correlationId = `corr-${newId()}`;
      const id = await propose({ traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`, 'X-Correlation-Id': correlationId });

      // The target was called under the same trace, by a span of its own (the executor's client span).
      const receipt = sink.receipts.find((r) => r.actionId === id);
      expect(receipt?.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
      expect(receipt?.traceparent).not.toContain(CALLER_SPAN);

      // Every entry of the action's chain was handled under that trace, and says so (inside its hashed bytes).
      const entries = await auditEntries(correlationId);
      expect(entries.map((e) => [e.type, e.traceId])).toEqual(entries.map((e) => [e.type, TRACE_ID]));

      // Each of the five services logged its part under that trace id, every such line beside the action's correlation id.
      for (const svc of SERVICES) {
        const { logFile } = stack.running.find((r) => r.name === svc)!;
        const traced = await eventually(() => {
          const lines = logLines(logFile).filter((l) => l.traceId === TRACE_ID);
          expect({ svc, lines: lines.length > 0 }).toEqual({ svc, lines: true });
          return lines;
        }, 30_000);
        for (const line of traced) {
          expect({ svc, msg: line.msg, correlationId: line.correlationId }).toEqual({ svc, msg: line.msg, correlationId });
          expect(line.spanId).toMatch(/^[0-9a-f]{16}$/);
          expect(line.service).toBe(svc);
        }
      }
    });

    it('a request without a traceparent starts a trace of its own, which the whole chain shares', async () => {
      const correlationId = `corr-${newId()}`;
      const id = await propose({ 'X-Correlation-Id': correlationId });
      const entries = await auditEntries(correlationId);
      const traceId = entries[0].traceId;
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(traceId).not.toBe(TRACE_ID);
      expect(entries.every((e) => e.traceId === traceId)).toBe(true);
      expect(sink.receipts.find((r) => r.actionId === id)?.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    });
  });
});
