import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { parse } from 'yaml';
import { KafkaBus } from '@countersign/bus';
import { newId } from '@countersign/contracts';
import { DERIVED_SIGNALS } from '@countersign/metrics';
import { call, eventually, SERVICES, stackEnv, startDistributed, startPrometheus, startWebhookSink, uniqueName } from '@countersign/testing';

// real: Apache Kafka, Redis, PostgreSQL, Unleash (infra/stack.sh), the five services as separate processes, and Debian's
// Prometheus 2.42 scraping them every second with the `metrics` bearer token and evaluating infra/prometheus/rules.yml;
// fake: the target system (a local webhook sink that records what it receives).
jest.setTimeout(180_000);

const AUTONOMOUS = 3;
const REVIEWED = 3;
const ROOT = join(__dirname, '../..');
const RULES = join(ROOT, 'infra/prometheus/rules.yml');

const proposal = (actionType: string, target: string, parameters: Record<string, unknown>) => ({
  actionType,
  target,
  parameters,
  proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
  confidence: 0.9,
  tenant: 'acme',
  region: 'eu-west',
  context: {},
});

const signal = (prefix: string) => DERIVED_SIGNALS.find((s) => s.signal.startsWith(prefix))!.promql;
// The automation ratio on the counters' totals: every service process of this test started at 0, so the totals are
// exactly this test's traffic. The README's signal (a ratio of rate()s over 5 minutes) is the same ratio for a running
// system, but rate() cannot count a series' first increment (its first sample is its baseline): over a test's seconds it
// would not be exact.
const AUTOMATION_RATIO = 'sum(countersign_actions_executed_total{lane="autonomous"}) / sum(countersign_actions_executed_total)';
const EXECUTED = (lane: string) => `sum(countersign_actions_executed_total{lane="${lane}"})`;

describe('Prometheus scraping the five services', () => {
  const ns = uniqueName('e2e_prom');
  const dir = join(ROOT, '.stack/e2e', ns);
  let stack: Awaited<ReturnType<typeof startDistributed>>;
  let sink: Awaited<ReturnType<typeof startWebhookSink>>;
  let prometheus: Awaited<ReturnType<typeof startPrometheus>>;

  const submit = async (body: unknown) => {
    const res = await call('POST', `${stack.urls.orchestrator}/v1/proposals`, body, stack.tokens.agent);
    expect(res.status).toBe(202);
    return res.body.actionId as string;
  };
  const waitStatus = (id: string, status: string) =>
    eventually(
      async () => {
        const view = (await call('GET', `${stack.urls.orchestrator}/v1/actions/${id}`, undefined, stack.tokens.agent)).body;
        expect(view.status).toBe(status);
        return view as { lane: string };
      },
      60_000,
      100,
    );
  /** The single value of a query whose result is one sample (a sum, a ratio). */
  const value = async (promql: string) => {
    const result = await prometheus.query(promql);
    expect(result).toHaveLength(1);
    return result[0].value;
  };
  /** Waits (30 s at most: a scrape a second, a new target's first sample takes a few) until Prometheus says so. */
  const untilPrometheus = (check: () => Promise<void>) => eventually(check, 30_000, 250);

  beforeAll(async () => {
    sink = await startWebhookSink();
    stack = await startDistributed({ namespace: ns, webhookUrl: sink.url, actionTypes: ['support.reply', 'support.refund'], dir });
    prometheus = await startPrometheus({
      dir: join(dir, 'prometheus'),
      targets: SERVICES.map((s) => new URL(stack.urls[s]).host),
      bearerTokenFile: join(dir, 'tokens', 'metrics'),
      ruleFiles: [RULES],
      caFile: stack.caFile,
    });
  }, 300_000);

  afterAll(async () => {
    await prometheus?.stop();
    if (stack) {
      await stack.stop();
      const bus = new KafkaBus({ ...stackEnv().kafkaBus, clientId: 'e2e-prom-cleanup', namespace: ns, logger: pino({ level: 'silent' }) });
      await bus.deleteNamespaceTopics().finally(() => bus.close());
      await stack.dropDatabase();
    }
    await sink?.close();
  });

  it('listens on 127.0.0.1 only and scrapes every service with the metrics token', async () => {
    expect(new URL(prometheus.url).hostname).toBe('127.0.0.1');
    await untilPrometheus(async () => {
      const up = await prometheus.query('up{job="countersign"}');
      expect(up.map((s) => [s.metric.instance, s.value]).sort()).toEqual(SERVICES.map((s) => [new URL(stack.urls[s]).host, 1]).sort());
      // Each target's series carry its own service label (the scrape went through to the service, not a 401 page).
      const services = await prometheus.query('count by (service) (process_cpu_user_seconds_total{job="countersign"})');
      expect(services.map((s) => s.metric.service).sort()).toEqual([...SERVICES].sort());
    });
  });

  it('shows each kill switch as the executor reads it, and that its flags are loaded (soak probe, 2026-12-05: no metric showed a switch)', async () => {
    const on = async (type: string) =>
      (await prometheus.query(`countersign_kill_switch{action_type="${type}"} == 1`)).map((s) => [s.metric.service, s.metric.state]);
    await untilPrometheus(async () => {
      expect(await on('support.refund')).toEqual([['executor', 'on']]);
      // A type of the contract this namespace made no flag for: refused, and shown so.
      expect(await on('account.close')).toEqual([['executor', 'unknown']]);
      expect((await prometheus.query('countersign_flags_loaded')).map((s) => [s.metric.service, s.value])).toEqual([['executor', 1]]);
    });
  });

  it('shows the automation ratio and the queue depth the traffic made', async () => {
    const queueDepth = signal('Reviewer queue depth');
    const depths = async () => Object.fromEntries((await prometheus.query(queueDepth)).map((s) => [s.metric.sla_class, s.value]));

    // Before any traffic: the queue is empty in every class of the contract, and nothing executed.
    await untilPrometheus(async () => expect(await depths()).toEqual({ critical: 0, high: 0, normal: 0 }));
    expect(await prometheus.query('countersign_actions_executed_total')).toEqual([]);

    const autonomous: string[] = [];
    for (let i = 0; i < AUTONOMOUS; i++) autonomous.push(await submit(proposal('support.reply', `ticket-${newId()}`, { body: `Reply ${i}` })));
    for (const id of autonomous) expect((await waitStatus(id, 'executed')).lane).toBe('autonomous');
    const reviewed: string[] = [];
    for (let i = 0; i < REVIEWED; i++) {
      reviewed.push(await submit(proposal('support.refund', `order-${newId()}`, { amount: 480 + i, currency: 'EUR', reason: 'damaged item' })));
    }
    for (const id of reviewed) expect((await waitStatus(id, 'in_review')).lane).toBe('review');

    // Refunds wait in the `high` class (the contract's support.refund review settings).
    await untilPrometheus(async () => {
      expect(await depths()).toEqual({ critical: 0, high: REVIEWED, normal: 0 });
      expect(await value(EXECUTED('autonomous'))).toBe(AUTONOMOUS);
      expect(await value(AUTOMATION_RATIO)).toBe(1);
    });

    // Reviewers approve all but one, and reject that one.
    const approve = async (id: string) => {
      const shown = await eventually(async () => {
        const res = await call('GET', `${stack.urls['review-queue']}/v1/reviews/${id}`, undefined, stack.tokens.reviewer);
        expect(res.status).toBe(200);
        return res.body as { shownDigest: string };
      });
      const res = await call(
        'POST',
        `${stack.urls['review-queue']}/v1/reviews/${id}/approve`,
        { reason: 'photo shows the damage', shownDigest: shown.shownDigest },
        stack.tokens.reviewer,
      );
      expect(res.status).toBe(200);
    };
    const [rejected, ...approved] = reviewed;
    for (const id of approved) await approve(id);
    expect(
      (await call('POST', `${stack.urls['review-queue']}/v1/reviews/${rejected}/reject`, { reason: 'no evidence of damage' }, stack.tokens.reviewer2)).status,
    ).toBe(200);
    for (const id of approved) await waitStatus(id, 'executed');
    await waitStatus(rejected, 'rejected');

    await untilPrometheus(async () => {
      expect(await depths()).toEqual({ critical: 0, high: 0, normal: 0 });
      expect(await value(EXECUTED('review'))).toBe(approved.length);
      expect(await value(EXECUTED('autonomous'))).toBe(AUTONOMOUS);
      // 3 autonomous of 5 executed: 0.6, exactly.
      expect(await value(AUTOMATION_RATIO)).toBe(AUTONOMOUS / (AUTONOMOUS + approved.length));
      expect(await value('sum(countersign_review_decisions_total{decision="rejected"})')).toBe(1);
      // Where the time went, from each service that measured it: each decision once, each execution once, and the calls.
      expect(await value('sum(countersign_decision_delay_seconds_count)')).toBe(AUTONOMOUS + REVIEWED);
      expect(await value('sum(countersign_execution_delay_seconds_count{outcome="executed"})')).toBe(AUTONOMOUS + approved.length);
      expect(await value('sum(countersign_target_call_seconds_count{outcome="executed"})')).toBe(AUTONOMOUS + approved.length);
      expect(await value('sum(countersign_http_request_seconds_count{service="review-queue",route="/v1/reviews/:actionId/approve",code="200"})')).toBe(
        approved.length,
      );
    });
    expect(sink.effects(rejected)).toBe(0);
  });

  it('loads infra/prometheus/rules.yml and evaluates every rule without an error on the live series', async () => {
    const inFile = (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: unknown[] }> }).groups.flatMap((g) => g.rules).length;
    await untilPrometheus(async () => {
      const { groups } = await prometheus.api<{
        groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string; lastEvaluation: string }> }>;
      }>('/api/v1/rules');
      const rules = groups.flatMap((g) => g.rules);
      expect(rules).toHaveLength(inFile);
      expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
      expect(rules.filter((r) => r.lastEvaluation.startsWith('0001-'))).toEqual([]);
    });
    // Every target answers: the alert that says otherwise is not firing.
    expect(await prometheus.query('ALERTS{alertname="CountersignTargetDown"}')).toEqual([]);
  });

  it('answers every query of the Grafana dashboard (infra/grafana/countersign.json) without an error', async () => {
    type Panel = { title: string; targets?: Array<{ expr: string }>; panels?: Panel[] };
    const walk = (panels: Panel[]): Array<{ title: string; expr: string }> =>
      panels.flatMap((p) => [...(p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })), ...walk(p.panels ?? [])]);
    const queries = walk((JSON.parse(readFileSync(join(ROOT, 'infra/grafana/countersign.json'), 'utf8')) as { panels: Panel[] }).panels);
    expect(queries.length).toBeGreaterThanOrEqual(DERIVED_SIGNALS.length);
    const failed: string[] = [];
    for (const q of queries) await prometheus.query(q.expr).catch((e: Error) => failed.push(`${q.title}: ${e.message}`));
    expect(failed).toEqual([]);
  });
});
