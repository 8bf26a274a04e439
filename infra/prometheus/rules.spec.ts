import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { METRIC_DEFINITIONS, undefinedMetricsIn } from '@countersign/metrics';

// real: infra/prometheus/rules.yml, its unit tests and runbook, the metric definitions, the shipped contract; fake: nothing.
// (promtool itself runs in rules.int-spec.ts.)

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }>;
}

const dir = __dirname;
const rules = (parse(readFileSync(join(dir, 'rules.yml'), 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert);
const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));
const ruleTests = (parse(readFileSync(join(dir, 'rules.test.yml'), 'utf8')) as { tests: RuleTest[] }).tests;
const runbook = readFileSync(join(dir, 'RUNBOOK.md'), 'utf8');

/** Alerts with something wrong in their metadata: severity, summary, description and a runbook step that exists. */
function metadataProblems(list: Rule[]): string[] {
  return list.flatMap((r) => {
    const problems: string[] = [];
    const severity = r.labels?.severity;
    if (severity !== 'critical' && severity !== 'warning') problems.push(`${r.alert}: severity ${severity} (critical = page, warning = ticket)`);
    if (!r.annotations?.summary?.trim()) problems.push(`${r.alert}: no summary`);
    const step = /^infra\/prometheus\/RUNBOOK\.md#([a-z0-9-]+)$/.exec(r.annotations?.runbook_url ?? '')?.[1];
    if (!step) problems.push(`${r.alert}: runbook_url is not infra/prometheus/RUNBOOK.md#<step>`);
    else {
      if (!r.annotations?.description?.includes(`Runbook step "${step}"`)) problems.push(`${r.alert}: the description does not name runbook step "${step}"`);
      if (!new RegExp(`^## ${step}$`, 'm').test(runbook)) problems.push(`${r.alert}: RUNBOOK.md has no step "${step}"`);
    }
    return problems;
  });
}

describe('alerting rules (infra/prometheus/rules.yml)', () => {
  it('cover the alerts issue 13 asks for', () => {
    expect(alerts.map((a) => a.alert)).toEqual(
      expect.arrayContaining([
        'CountersignReviewSloFastBurn',
        'CountersignReviewSloSlowBurn',
        'CountersignReviewQueueAgeOverSla',
        'CountersignDegradationModeAboveNormal',
        'CountersignCertificateExpiresSoon',
        'CountersignKeyRotationOverdue',
        'CountersignAuditIncomplete',
        'CountersignDeadLettersGrowing',
        'CountersignConsumerLagHigh',
      ]),
    );
  });

  it('name only metrics that exist in METRIC_DEFINITIONS (a histogram by its _bucket, _sum, _count)', () => {
    expect(
      undefinedMetricsIn(
        rules.map((r) => ({ signal: r.alert ?? r.record!, promql: r.expr })),
        METRIC_DEFINITIONS,
      ),
    ).toEqual([]);
    // The check finds a misspelt name (so the line above can fail).
    expect(undefinedMetricsIn([{ signal: 'typo', promql: 'rate(countersign_kafka_handle_seconds_buckets[5m])' }], METRIC_DEFINITIONS)).toEqual([
      'typo: countersign_kafka_handle_seconds_buckets',
    ]);
  });

  it('use only recording rules the file records', () => {
    const used = rules.flatMap((r) => r.expr.match(/countersign:[a-z0-9_:]+/g) ?? []);
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((name) => !recorded.has(name))).toEqual([]);
  });

  it('give each alert a severity, a summary and a description naming a runbook step that exists', () => {
    expect(alerts.length).toBeGreaterThanOrEqual(9);
    expect(metadataProblems(alerts)).toEqual([]);
    const bad: Rule = {
      alert: 'Bad',
      expr: 'vector(1)',
      labels: { severity: 'high' },
      annotations: { summary: 'x', runbook_url: 'infra/prometheus/RUNBOOK.md#nowhere' },
    };
    expect(metadataProblems([bad])).toEqual([
      'Bad: severity high (critical = page, warning = ticket)',
      'Bad: the description does not name runbook step "nowhere"',
      'Bad: RUNBOOK.md has no step "nowhere"',
    ]);
  });

  it('are each shown firing and not firing in rules.test.yml', () => {
    const checks = ruleTests.flatMap((t) => t.alert_rule_test ?? []);
    const uncovered = alerts.flatMap((a) => {
      const mine = checks.filter((c) => c.alertname === a.alert);
      return [
        ...(mine.some((c) => (c.exp_alerts ?? []).length > 0) ? [] : [`${a.alert}: never shown firing`]),
        ...(mine.some((c) => (c.exp_alerts ?? []).length === 0) ? [] : [`${a.alert}: never shown not firing`]),
      ];
    });
    expect(uncovered).toEqual([]);
  });

  it("hold the review SLO to the contract's objective (degradation.slo.target: the error budget is 1 - target)", () => {
    const contract = parse(readFileSync(join(dir, '../../apps/policy-engine/contract/countersign.contract.yaml'), 'utf8')) as {
      degradation: { slo: { target: number } };
    };
    const budget = rules.find((r) => r.record === 'countersign:review_slo:error_budget');
    const value = Number(/^vector\(([0-9.]+)\)$/.exec(budget?.expr.trim() ?? '')?.[1]);
    expect(value).toBeCloseTo(1 - contract.degradation.slo.target, 9);
  });
});
