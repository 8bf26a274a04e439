import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LabelsOf, METRIC_DEFINITIONS, MetricDefinition, MetricName } from './definitions';

/** Reads a gauge's current values at scrape time: `set(labels, value)` once per series. */
export type GaugeReader<N extends MetricName<'gauge'>> = (set: (labels: Partial<Record<LabelsOf<N>, string>>, value: number) => void) => Promise<void> | void;

/**
 * The metrics of one process: one prom-client registry holding every metric of `METRIC_DEFINITIONS` and Node's
 * default process metrics, each series labelled with the `service` that runs (`countersign-embedded` for the
 * embedded process). The services count through it; `GET /metrics` renders it.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly counters = new Map<string, Counter<string>>();
  private readonly gauges = new Map<string, Gauge<string>>();
  private readonly histograms = new Map<string, Histogram<string>>();
  private readonly readers = new Map<string, GaugeReader<never>[]>();

  constructor(
    readonly service: string,
    definitions: readonly MetricDefinition[] = METRIC_DEFINITIONS,
    options: { defaultMetrics?: boolean } = {},
  ) {
    this.registry.setDefaultLabels({ service });
    for (const d of definitions) {
      const common = { name: d.name, help: d.help, labelNames: [...d.labels], registers: [this.registry] };
      if (d.type === 'counter') this.counters.set(d.name, new Counter(common));
      else if (d.type === 'histogram') this.histograms.set(d.name, new Histogram({ ...common, buckets: [...(d.buckets ?? [])] }));
      else {
        const readers = this.readers;
        // A gauge without labels is registered only once something sets or reads it: prom-client would show it at 0
        // in every process, claiming a degradation mode or a trust verdict where none is known.
        const registers = d.labels.length ? [this.registry] : [];
        // A gauge with readers is read at each scrape (the backlog lives in Redis or memory, not here); reset first,
        // so an SLA class that emptied does not keep its last value.
        this.gauges.set(
          d.name,
          new Gauge({
            ...common,
            registers,
            async collect() {
              const rs = readers.get(d.name) ?? [];
              if (!rs.length) return;
              this.reset();
              for (const read of rs) await read((labels, value) => this.set(labels as Record<string, string>, value));
            },
          }),
        );
      }
    }
    // Node's process metrics (CPU, memory, event loop lag, GC), with the same `service` label.
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** A defined counter (`_total`): `inc(labels)` where the event happens. */
  counter<N extends MetricName<'counter'>>(name: N): Counter<LabelsOf<N>> {
    return this.counters.get(name) as Counter<LabelsOf<N>>;
  }

  /** A defined histogram: `observe(labels, seconds)`. */
  histogram<N extends MetricName<'histogram'>>(name: N): Histogram<LabelsOf<N>> {
    return this.histograms.get(name) as Histogram<LabelsOf<N>>;
  }

  /** A defined gauge, set where its value changes. */
  gauge<N extends MetricName<'gauge'>>(name: N): Gauge<LabelsOf<N>> {
    return this.exposed(name) as Gauge<LabelsOf<N>>;
  }

  /** Reads a defined gauge from its source at every scrape instead (a value kept elsewhere); returns the undo. */
  readGauge<N extends MetricName<'gauge'>>(name: N, read: GaugeReader<N>): () => void {
    const list = this.readers.get(name) ?? [];
    list.push(read as GaugeReader<never>);
    this.readers.set(name, list);
    this.exposed(name);
    return () =>
      this.readers.set(
        name,
        (this.readers.get(name) ?? []).filter((r) => r !== read),
      );
  }

  /** A gauge, registered on its first use if it waited for one (a gauge without labels). */
  private exposed(name: string): Gauge<string> {
    const gauge = this.gauges.get(name)!;
    if (!this.registry.getSingleMetric(name)) this.registry.registerMetric(gauge);
    return gauge;
  }

  /** The Prometheus text exposition of every metric (a gauge without labels once it is set or read). */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** The content type of `render()`'s text (Prometheus text format 0.0.4). */
  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The metrics of a process that runs `service`. */
export const createMetrics = (service: string): Metrics => new Metrics(service);
