import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conventionProblems, README_MARKERS, renderMetricsTable, undefinedMetricsIn } from './conventions';
import { DERIVED_SIGNALS, METRIC_DEFINITIONS, MetricDefinition } from './definitions';
import { parsePrometheusText, sampleSum } from './exposition';
import { Metrics } from './metrics';

// real: prom-client registries and the definitions table; fake: nothing.

describe('metric definitions', () => {
  it('follow the naming and label conventions, each name once', () => {
    expect(conventionProblems(METRIC_DEFINITIONS)).toEqual([]);
  });

  it.each<[string, MetricDefinition, RegExp]>([
    ['a counter without _total', { name: 'countersign_decisions', help: 'x', type: 'counter', labels: [] }, /ends in _total/],
    ['a gauge ending _total', { name: 'countersign_depth_total', help: 'x', type: 'gauge', labels: [] }, /only a counter/],
    ['milliseconds', { name: 'countersign_latency_ms', help: 'x', type: 'histogram', labels: [], buckets: [1] }, /base unit/],
    ['no prefix', { name: 'review_depth', help: 'x', type: 'gauge', labels: [] }, /countersign_ prefix/],
    ['camel case', { name: 'countersign_queueDepth', help: 'x', type: 'gauge', labels: [] }, /snake case/],
    ['an unbounded label', { name: 'countersign_x_total', help: 'x', type: 'counter', labels: ['action_id'] }, /label action_id is not one of the bounded/],
    ['a tenant label', { name: 'countersign_x_total', help: 'x', type: 'counter', labels: ['tenant'] }, /label tenant/],
    ['buckets that fall', { name: 'countersign_x_seconds', help: 'x', type: 'histogram', labels: [], buckets: [5, 1] }, /buckets must increase/],
    ['no help', { name: 'countersign_x_seconds', help: ' ', type: 'gauge', labels: [] }, /no help/],
  ])('refuses %s', (_, bad, why) => {
    expect(conventionProblems([...METRIC_DEFINITIONS, bad]).join('\n')).toMatch(why);
  });

  it('refuses a name defined twice', () => {
    expect(conventionProblems([...METRIC_DEFINITIONS, METRIC_DEFINITIONS[0]])).toEqual([`${METRIC_DEFINITIONS[0].name}: defined twice`]);
  });

  it('derive every signal from defined metrics only', () => {
    expect(undefinedMetricsIn(DERIVED_SIGNALS, METRIC_DEFINITIONS)).toEqual([]);
    expect(undefinedMetricsIn([{ signal: 'typo', promql: 'sum(countersign_policy_decision_total)' }], METRIC_DEFINITIONS)).toEqual([
      'typo: countersign_policy_decision_total',
    ]);
  });

  it('are the table in the README (node -r ./tools/register.js libs/platform/metrics/scripts/generate-readme-table.ts rewrites it)', () => {
    const readme = readFileSync(join(__dirname, '../../../../README.md'), 'utf8');
    const begin = readme.indexOf(README_MARKERS.begin);
    const end = readme.indexOf(README_MARKERS.end);
    expect(begin).toBeGreaterThanOrEqual(0);
    expect(readme.slice(begin + README_MARKERS.begin.length, end).trim()).toBe(renderMetricsTable());
  });
});

describe('Metrics', () => {
  it('exposes every defined metric with its help and the service label, and the process metrics', async () => {
    const metrics = new Metrics('policy-engine');
    metrics.counter('countersign_policy_decisions_total').inc({ action_type: 'support.refund', lane: 'review', decided_by: 'contract' });
    metrics.histogram('countersign_review_approval_latency_seconds').observe({ decision: 'approved', sla_class: 'standard' }, 42);
    const text = await metrics.render();
    for (const d of METRIC_DEFINITIONS.filter((d) => d.labels.length)) expect(text).toContain(`# HELP ${d.name} ${d.help}`);
    const samples = parsePrometheusText(text);
    expect(samples.find((s) => s.name === 'countersign_policy_decisions_total')).toEqual({
      name: 'countersign_policy_decisions_total',
      labels: { action_type: 'support.refund', lane: 'review', decided_by: 'contract', service: 'policy-engine' },
      value: 1,
    });
    expect(sampleSum(samples, 'countersign_review_approval_latency_seconds_bucket', { le: '30' })).toBe(0);
    expect(sampleSum(samples, 'countersign_review_approval_latency_seconds_bucket', { le: '60' })).toBe(1);
    expect(samples.some((s) => s.name === 'process_cpu_user_seconds_total' && s.labels.service === 'policy-engine')).toBe(true);
    expect(metrics.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('shows a gauge without labels only once it is set (no claim of a mode nobody applied)', async () => {
    const metrics = new Metrics('review-queue', METRIC_DEFINITIONS, { defaultMetrics: false });
    expect(await metrics.render()).not.toContain('countersign_degradation_mode');
    metrics.gauge('countersign_degradation_mode').set(3);
    expect(sampleSum(parsePrometheusText(await metrics.render()), 'countersign_degradation_mode')).toBe(3);
  });

  it('reads a gauge from its source at each scrape, dropping series that emptied, until the reader is removed', async () => {
    const metrics = new Metrics('review-queue', METRIC_DEFINITIONS, { defaultMetrics: false });
    let backlog: Record<string, number> = { standard: 2, urgent: 1 };
    const stop = metrics.readGauge('countersign_review_queue_depth', (set) => Object.entries(backlog).forEach(([c, n]) => set({ sla_class: c }, n)));
    const depth = async (c: string) => sampleSum(parsePrometheusText(await metrics.render()), 'countersign_review_queue_depth', { sla_class: c });
    expect(await depth('standard')).toBe(2);
    backlog = { urgent: 3 };
    expect(await depth('standard')).toBe(0);
    expect(await depth('urgent')).toBe(3);
    stop();
    backlog = { urgent: 9 };
    expect(await depth('urgent')).toBe(3);
  });

  it('keeps two processes in one test run apart (one registry each)', async () => {
    const a = new Metrics('executor', METRIC_DEFINITIONS, { defaultMetrics: false });
    const b = new Metrics('executor', METRIC_DEFINITIONS, { defaultMetrics: false });
    a.counter('countersign_execution_outcomes_total').inc({ outcome: 'unknown' });
    expect(sampleSum(parsePrometheusText(await a.render()), 'countersign_execution_outcomes_total', { outcome: 'unknown' })).toBe(1);
    expect(sampleSum(parsePrometheusText(await b.render()), 'countersign_execution_outcomes_total', { outcome: 'unknown' })).toBe(0);
  });
});
