// Renders the Grafana dashboard infra/grafana/countersign.json from the metric definitions (a unit test fails when the
// committed file drifts): `node -r ./tools/register.js libs/platform/metrics/scripts/generate-grafana-dashboard.ts`.
// A panel per control-health signal (DERIVED_SIGNALS, the README's table), then a collapsed row with a panel per metric.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DERIVED_SIGNALS, DerivedSignal, METRIC_DEFINITIONS, MetricDefinition } from '../src';

export const DASHBOARD_FILE = join(__dirname, '../../../../infra/grafana/countersign.json');

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const WIDTH = 12;
const HEIGHT = 8;

interface Target {
  refId: string;
  expr: string;
  legendFormat: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  [key: string]: unknown;
}

/** The unit Grafana shows a signal's values in, read from its name and query. */
export function unitOf(title: string, promql: string): string {
  if (/per second/i.test(title)) return 'ops';
  if (/ratio|share|completeness/i.test(title) || /_ratio\b/.test(promql)) return 'percentunit';
  if (/seconds left|\blatency\b|\bage\b|\btime p\d+/i.test(title) || (/_seconds\b|_seconds_bucket\b/.test(promql) && !/_total\b/.test(promql))) return 's';
  return 'short';
}

/** The labels a query keeps (`by (…)`), for the legend: `{{sla_class}}`, or the title when it aggregates them all away. */
function legendOf(promql: string): string {
  const by = /\bby \(([^)]*)\)/.exec(promql)?.[1];
  const labels = (by ?? '')
    .split(',')
    .map((l) => l.trim())
    .filter((l) => l && l !== 'le');
  return labels.length ? labels.map((l) => `{{${l}}}`).join(' ') : '__auto';
}

/** The query showing one metric as it is: a counter's rate, a gauge's value, a histogram's p95; by its labels. */
export function metricQuery(d: MetricDefinition): string {
  const by = d.labels.length ? ` by (${d.labels.join(', ')})` : '';
  if (d.type === 'counter') return `sum${by} (rate(${d.name}[5m]))`;
  // A point in time (unix seconds): Grafana shows dates from milliseconds.
  if (d.type === 'gauge' && d.name.endsWith('_timestamp_seconds')) return `max${by} (${d.name}) * 1000`;
  if (d.type === 'gauge') return `max${by} (${d.name})`;
  return `histogram_quantile(0.95, sum by (${['le', ...d.labels].join(', ')}) (rate(${d.name}_bucket[5m])))`;
}

function timeseries(id: number, title: string, description: string, expr: string, unit: string, x: number, y: number): Panel {
  const target: Target = { refId: 'A', expr, legendFormat: legendOf(expr) };
  return {
    id,
    type: 'timeseries',
    title,
    description,
    datasource: DATASOURCE,
    gridPos: { x, y, w: WIDTH, h: HEIGHT },
    fieldConfig: { defaults: { unit }, overrides: [] },
    options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'none' } },
    targets: [target],
  };
}

/** The dashboard as Grafana's JSON model (schema 39), deterministic: the same definitions give the same bytes. */
export function renderDashboard(signals: readonly DerivedSignal[] = DERIVED_SIGNALS, definitions: readonly MetricDefinition[] = METRIC_DEFINITIONS) {
  let id = 0;
  const help = new Map(definitions.map((d) => [d.name, d.help]));
  const grid = (i: number, top: number) => ({ x: (i % 2) * WIDTH, y: top + Math.floor(i / 2) * HEIGHT });
  const row = (title: string, y: number, collapsed: boolean, panels: Panel[] = []) => ({
    id: ++id,
    type: 'row',
    title,
    collapsed,
    gridPos: { x: 0, y, w: 2 * WIDTH, h: 1 },
    panels,
  });

  const signalsRow = row('Control-health signals', 0, false);
  const signalPanels = signals.map((s, i) => {
    const { x, y } = grid(i, 1);
    const names = [...new Set(s.promql.match(/countersign_[a-z0-9_]+/g) ?? [])].map((n) => n.replace(/_(bucket|sum|count)$/, ''));
    const description = [`PromQL: ${s.promql}`, ...names.map((n) => `${n}: ${help.get(n) ?? ''}`)].join('\n\n');
    return timeseries(++id, s.signal, description, s.promql, unitOf(s.signal, s.promql), x, y);
  });
  const metricsTop = 1 + Math.ceil(signals.length / 2) * HEIGHT;
  const metricsRow = row('Metrics (one panel each, as defined)', metricsTop, true);
  metricsRow.panels = definitions.map((d, i) => {
    const { x, y } = grid(i, metricsTop + 1);
    const expr = metricQuery(d);
    const unit = d.name.endsWith('_timestamp_seconds')
      ? 'dateTimeAsIso'
      : d.type === 'histogram' || d.name.endsWith('_seconds')
        ? 's'
        : d.name.endsWith('_ratio')
          ? 'percentunit'
          : d.type === 'counter'
            ? 'ops'
            : 'short';
    return timeseries(++id, d.name, `${d.help} (${d.type})`, expr, unit, x, y);
  });

  return {
    __comment: 'Generated from libs/platform/metrics/src/definitions.ts by libs/platform/metrics/scripts/generate-grafana-dashboard.ts; do not edit.',
    uid: 'countersign-control-health',
    title: 'Countersign — control health',
    description: 'The control-health signals of the playbook and every Countersign metric (README "Metrics").',
    tags: ['countersign'],
    timezone: 'utc',
    editable: false,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: {
      list: [{ name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1, options: [] }],
    },
    annotations: { list: [] },
    links: [],
    panels: [signalsRow, ...signalPanels, metricsRow],
  };
}

/** Every PromQL query of a dashboard (its panels', rows' panels included). */
export function dashboardQueries(dashboard: { panels: unknown[] }): Array<{ title: string; expr: string }> {
  const walk = (panels: unknown[]): Array<{ title: string; expr: string }> =>
    panels.flatMap((p) => {
      const panel = p as { title: string; targets?: Target[]; panels?: unknown[] };
      return [...(panel.targets ?? []).map((t) => ({ title: panel.title, expr: t.expr })), ...walk(panel.panels ?? [])];
    });
  return walk(dashboard.panels);
}

/**
 * The dashboard file's text: the model, formatted as the repository's Prettier formats JSON (its command line, since
 * Prettier's API loads ES modules that Jest's CommonJS runtime cannot).
 */
export function renderDashboardFile(): string {
  const run = spawnSync(process.execPath, [require.resolve('prettier/bin/prettier.cjs'), '--stdin-filepath', DASHBOARD_FILE], {
    input: JSON.stringify(renderDashboard()),
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`prettier failed: ${run.stderr}`);
  return run.stdout;
}

if (require.main === module) writeFileSync(DASHBOARD_FILE, renderDashboardFile());
