import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { call, eventually, Sample, sampleSum, scrapeMetrics } from '@countersign/testing';
import { startEmbedded } from './embedded';

// real: all five services in one process, the in-process bus and stores, /metrics with the home's scrape token;
// fake: the target system (the embedded sink).

describe('embedded mode metrics', () => {
  let running: Awaited<ReturnType<typeof startEmbedded>>;
  const token = (name: string) => readFileSync(join(running.home, 'tokens', name), 'utf8');
  const example = (f: string) => JSON.parse(readFileSync(join(__dirname, '../examples', f), 'utf8'));
  const scrape = () => scrapeMetrics(running.url, token('metrics'));
  const status = (id: string, want: string) =>
    eventually(async () => expect((await call('GET', `${running.url}/v1/actions/${id}`, undefined, token('agent'))).body.status).toBe(want), 15_000);

  beforeAll(async () => {
    running = await startEmbedded({ home: mkdtempSync(join(tmpdir(), 'countersign-metrics-')), port: 0, logger: pino({ level: 'silent' }) });
  }, 60_000);
  afterAll(() => running.close());

  it('counts an autonomous refund and a reviewed one by lane, and shows the reviewed one in the queue until approved', async () => {
    // Deltas from a first scrape: the process's own start (nothing proposed yet) is the baseline.
    const before = await scrape();
    const moved = (now: Sample[], name: string, labels: Record<string, string>) => sampleSum(now, name, labels) - sampleSum(before, name, labels);
    const refund = { action_type: 'support.refund' };

    const small = (await call('POST', `${running.url}/v1/proposals`, example('refund-small.json'), token('agent'))).body.actionId as string;
    await status(small, 'executed');
    const large = (await call('POST', `${running.url}/v1/proposals`, example('refund-large.json'), token('agent'))).body.actionId as string;
    await status(large, 'in_review');

    const queued = await eventually(async () => {
      const now = await scrape();
      expect(sampleSum(now, 'countersign_review_queue_depth')).toBe(1);
      return now;
    });
    expect(moved(queued, 'countersign_policy_decisions_total', { ...refund, lane: 'autonomous' })).toBe(1);
    expect(moved(queued, 'countersign_policy_decisions_total', { ...refund, lane: 'review' })).toBe(1);
    expect(moved(queued, 'countersign_policy_decisions_total', { lane: 'prohibited' })).toBe(0);
    expect(moved(queued, 'countersign_actions_executed_total', { ...refund, lane: 'autonomous' })).toBe(1);
    expect(moved(queued, 'countersign_actions_executed_total', { lane: 'review' })).toBe(0);
    expect(moved(queued, 'countersign_execution_outcomes_total', { outcome: 'executed' })).toBe(1);
    expect(queued.every((s) => !s.name.startsWith('countersign_') || s.labels.service === 'countersign-embedded')).toBe(true);
    // The one waiting item is in exactly one SLA class; the others are there at 0.
    const depths = queued.filter((s) => s.name === 'countersign_review_queue_depth');
    expect(depths.map((s) => s.value).sort()).toEqual([...Array(depths.length - 1).fill(0), 1]);
    const slaClass = depths.find((s) => s.value === 1)!.labels.sla_class;
    expect(sampleSum(queued, 'countersign_review_queue_oldest_age_seconds', { sla_class: slaClass })).toBeGreaterThanOrEqual(0);

    expect((await call('POST', `${running.url}/v1/reviews/${large}/approve`, { reason: 'damage confirmed by photo' }, token('reviewer'))).status).toBe(200);
    await status(large, 'executed');
    const approved = await eventually(async () => {
      const now = await scrape();
      expect(sampleSum(now, 'countersign_review_queue_depth')).toBe(0);
      return now;
    });
    expect(moved(approved, 'countersign_review_decisions_total', { decision: 'approved', sla_class: slaClass })).toBe(1);
    expect(moved(approved, 'countersign_review_approval_latency_seconds_count', { decision: 'approved', sla_class: slaClass })).toBe(1);
    expect(moved(approved, 'countersign_actions_executed_total', { ...refund, lane: 'review' })).toBe(1);
    // The automation ratio of this test's traffic: one of the two executed actions ran without a person.
    const executed = (lane: string) => moved(approved, 'countersign_actions_executed_total', { lane });
    expect(executed('autonomous') / (executed('autonomous') + executed('review'))).toBe(0.5);
    // The reviewed refund executed on a verified approval: the trust monitor's verdict was trusted.
    expect(sampleSum(approved, 'countersign_trust_health')).toBe(1);

    // Where the time went, stage by stage: each decision once, each execution once by the lane that authorised it, each
    // call to the target once, and every answer by its route (a route as declared: no action id in a label).
    expect(moved(approved, 'countersign_decision_delay_seconds_count', { ...refund, lane: 'autonomous' })).toBe(1);
    expect(moved(approved, 'countersign_decision_delay_seconds_count', { ...refund, lane: 'review' })).toBe(1);
    expect(moved(approved, 'countersign_execution_delay_seconds_count', { ...refund, lane: 'autonomous', outcome: 'executed' })).toBe(1);
    expect(moved(approved, 'countersign_execution_delay_seconds_count', { ...refund, lane: 'review', outcome: 'executed' })).toBe(1);
    expect(moved(approved, 'countersign_target_call_seconds_count', { ...refund, outcome: 'executed' })).toBe(2);
    for (const name of ['countersign_decision_delay_seconds_sum', 'countersign_execution_delay_seconds_sum', 'countersign_target_call_seconds_sum'])
      expect(moved(approved, name, {})).toBeGreaterThan(0);
    expect(moved(approved, 'countersign_http_request_seconds_count', { route: '/v1/proposals', method: 'POST', code: '202' })).toBe(2);
    expect(moved(approved, 'countersign_http_request_seconds_count', { route: '/v1/reviews/:actionId/approve', method: 'POST', code: '200' })).toBe(1);
    expect(moved(approved, 'countersign_http_request_seconds_count', { route: '/v1/actions/:id', method: 'GET' })).toBeGreaterThanOrEqual(2);
    expect(approved.filter((x) => x.name.startsWith('countersign_http_request_seconds')).some((x) => x.labels.route?.includes(small))).toBe(false);
  });

  it('refuses a scrape with an agent token', async () => {
    const res = await call('GET', `${running.url}/metrics`, undefined, token('agent'));
    expect(res.status).toBe(403);
  });
});
