import { BOUNDED_LABELS, DERIVED_SIGNALS, DerivedSignal, METRIC_DEFINITIONS, MetricDefinition } from './definitions';

/**
 * What is wrong with a set of metric definitions under the Prometheus naming conventions and ours: the
 * `countersign_` prefix, snake case, counters ending `_total` and nothing else doing so, base units (`_seconds`,
 * `_bytes`, never `_ms`), bounded labels only, histograms with increasing buckets, no name twice. Empty: all good.
 */
export function conventionProblems(definitions: readonly MetricDefinition[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const d of definitions) {
    const n = d.name;
    if (seen.has(n)) problems.push(`${n}: defined twice`);
    seen.add(n);
    if (!/^countersign_[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(n)) problems.push(`${n}: not snake case with the countersign_ prefix`);
    if (d.type === 'counter' && !n.endsWith('_total')) problems.push(`${n}: a counter's name ends in _total`);
    if (d.type !== 'counter' && n.endsWith('_total')) problems.push(`${n}: only a counter's name ends in _total`);
    if (/_(ms|milliseconds|minutes|hours|kb|mb|percent)(_|$)/.test(n)) problems.push(`${n}: not in a base unit (seconds, bytes, ratio)`);
    if (/_(bucket|count|sum)$/.test(n)) problems.push(`${n}: ends like a histogram's series`);
    if (d.type === 'histogram') {
      const b = d.buckets ?? [];
      if (!b.length) problems.push(`${n}: a histogram needs buckets`);
      if (b.some((x, i) => i > 0 && x <= b[i - 1])) problems.push(`${n}: buckets must increase`);
    } else if (d.buckets) problems.push(`${n}: only a histogram has buckets`);
    if (!d.help.trim()) problems.push(`${n}: no help text`);
    for (const l of d.labels) {
      if (!(BOUNDED_LABELS as readonly string[]).includes(l)) problems.push(`${n}: label ${l} is not one of the bounded labels (${BOUNDED_LABELS.join(', ')})`);
    }
    if (new Set(d.labels).size !== d.labels.length) problems.push(`${n}: a label twice`);
  }
  return problems;
}

/** Derived signals whose query names a metric that is not defined (a histogram's `_bucket`/`_sum`/`_count` count as defined). */
export function undefinedMetricsIn(signals: readonly DerivedSignal[], definitions: readonly MetricDefinition[]): string[] {
  const names = new Set(definitions.flatMap((d) => (d.type === 'histogram' ? [`${d.name}_bucket`, `${d.name}_sum`, `${d.name}_count`] : [d.name])));
  return signals.flatMap((s) => (s.promql.match(/countersign_[a-z0-9_]+/g) ?? []).filter((m) => !names.has(m)).map((m) => `${s.signal}: ${m}`));
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The README's metrics section (between its markers), rendered from the definitions and the derived signals. */
export function renderMetricsTable(definitions: readonly MetricDefinition[] = METRIC_DEFINITIONS, signals: readonly DerivedSignal[] = DERIVED_SIGNALS): string {
  return [
    '| Metric | Type | Labels | Help |',
    '| --- | --- | --- | --- |',
    ...definitions.map((d) => `| \`${d.name}\` | ${d.type} | ${d.labels.map((l) => `\`${l}\``).join(', ') || '—'} | ${cell(d.help)} |`),
    '',
    '| Signal | PromQL |',
    '| --- | --- |',
    ...signals.map((s) => `| ${cell(s.signal)} | \`${cell(s.promql)}\` |`),
  ].join('\n');
}

/** The markers around the generated table in the README. */
export const README_MARKERS = { begin: '<!-- metrics:begin (generated from libs/platform/metrics; do not edit) -->', end: '<!-- metrics:end -->' } as const;
