import { readFileSync } from 'node:fs';
import { DERIVED_SIGNALS, METRIC_DEFINITIONS, undefinedMetricsIn } from '../src';
import { DASHBOARD_FILE, dashboardQueries, metricQuery, renderDashboard, renderDashboardFile, unitOf } from './generate-grafana-dashboard';

// real: the metric definitions, the generator, Prettier and the committed infra/grafana/countersign.json; fake: nothing.

type Dashboard = ReturnType<typeof renderDashboard>;
const committed = () => JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;

describe('the Grafana dashboard (infra/grafana/countersign.json)', () => {
  it('is what the generator makes of the definitions (node -r ./tools/register.js libs/platform/metrics/scripts/generate-grafana-dashboard.ts)', () => {
    expect(readFileSync(DASHBOARD_FILE, 'utf8')).toBe(renderDashboardFile());
  });

  it('has a panel per control-health signal, with its query, and a panel per metric', () => {
    const queries = dashboardQueries(committed());
    expect(queries.slice(0, DERIVED_SIGNALS.length)).toEqual(DERIVED_SIGNALS.map((s) => ({ title: s.signal, expr: s.promql })));
    expect(queries.slice(DERIVED_SIGNALS.length)).toEqual(METRIC_DEFINITIONS.map((d) => ({ title: d.name, expr: metricQuery(d) })));
  });

  it('names in its queries only metrics that exist', () => {
    const queries = dashboardQueries(committed());
    expect(queries.length).toBe(DERIVED_SIGNALS.length + METRIC_DEFINITIONS.length);
    expect(
      undefinedMetricsIn(
        queries.map((q) => ({ signal: q.title, promql: q.expr })),
        METRIC_DEFINITIONS,
      ),
    ).toEqual([]);
    // A dashboard with a misspelt metric is caught (so the check above can fail).
    const typo = renderDashboard([{ signal: 'Queue depth', promql: 'max(countersign_review_queue_depths)' }]);
    expect(
      undefinedMetricsIn(
        dashboardQueries(typo).map((q) => ({ signal: q.title, promql: q.expr })),
        METRIC_DEFINITIONS,
      ),
    ).toEqual(['Queue depth: countersign_review_queue_depths']);
  });

  it('gives every panel its own id and Grafana a unit that fits', () => {
    const all = (panels: Array<{ id: number; panels?: unknown[] }>): number[] => panels.flatMap((p) => [p.id, ...all((p.panels ?? []) as typeof panels)]);
    const ids = all(committed().panels as Array<{ id: number; panels?: unknown[] }>);
    expect(new Set(ids).size).toBe(ids.length);
    expect(unitOf('Automation ratio (autonomous executed / all executed)', '')).toBe('percentunit');
    expect(unitOf('Consumer lag (messages behind)', 'max by (group, topic) (countersign_kafka_consumer_lag)')).toBe('short');
    expect(unitOf('Queue age (oldest waiting item)', '')).toBe('s');
    expect(unitOf('Outcomes unknown (per second)', '')).toBe('ops');
  });
});
