import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { KafkaBus } from '@countersign/bus';
import { newId, TOPICS } from '@countersign/contracts';
import { call, eventually, SERVICES, stackEnv, startDistributed, startWebhookSink, uniqueName } from '@countersign/testing';

// real: Apache Kafka, Redis, PostgreSQL, Unleash (infra/stack.sh), the five services as separate processes (debug logs);
// fake: the target system (a local webhook sink that records what it receives, the `traceparent` included).
jest.setTimeout(180_000);

const TRACE_ID = 'c0ffee0ddba11dea5e1ec7ab1e5eed01';
const CALLER_SPAN = '00f067aa0ba902b7';

const proposal = (target: string) => ({
  actionType: 'support.reply',
  target,
  parameters: { body: 'Your parcel ships tomorrow.' },
  proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
  confidence: 0.97,
  tenant: 'acme',
  region: 'eu-west',
  context: {},
});

/** The JSON lines of a service's log (other lines, if any, are skipped). */
function logLines(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('one action followed across the five services by its W3C trace', () => {
  const ns = uniqueName('e2e_trace');
  let stack: Awaited<ReturnType<typeof startDistributed>>;
  let sink: Awaited<ReturnType<typeof startWebhookSink>>;
  const api = () => stack.urls.orchestrator;

  const propose = async (headers: Record<string, string>) => {
    const res = await call('POST', `${api()}/v1/proposals`, proposal(`ticket-${newId()}`), stack.tokens.agent, headers);
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

  beforeAll(async () => {
    sink = await startWebhookSink();
    stack = await startDistributed({
      namespace: ns,
      webhookUrl: sink.url,
      actionTypes: ['support.reply'],
      dir: join(__dirname, '../../.stack/e2e', ns),
      // Debug: every handled event leaves a line (`event handled`), so each service's part of the action shows in its log.
      logLevel: 'debug',
    });
  }, 300_000);

  afterAll(async () => {
    if (stack) {
      const bus = new KafkaBus({ ...stackEnv().kafkaBus, clientId: 'e2e-trace', namespace: ns, logger: pino({ level: 'silent' }) });
      await bus.deleteNamespaceTopics().catch(() => undefined);
      await bus.close();
    }
    await stack?.stop();
    await stack?.dropDatabase();
    await sink?.close();
  });

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
