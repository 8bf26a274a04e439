import type { Logger } from '@countersign/logging';
import type { Metrics } from '@countersign/metrics';
import type { DeadLetterSink } from './dispatch';
import type { DeliveryContext, HandlerMap } from './port';

/** How often a bus refreshes the lag of its subscriptions' groups when its options do not say (a scrape every 15 s sees it fresh). */
export const DEFAULT_CONSUMER_LAG_INTERVAL_MS = 15_000;

/** The lag of one topic of a group: messages between its committed positions and the partitions' ends. */
export interface TopicLag {
  topic: string;
  lag: number;
}

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;

/**
 * The bus's own metrics (ADR 0021), in one place both adapters use: dead letters by source topic, publish and handler
 * times, and each kept-position group's lag. Without a `Metrics` (a bus built by hand in a test) every method is a
 * pass-through. Topics are the registry's names, without the test namespace.
 */
export class BusMetrics {
  private readonly lagStops = new Set<() => void>();

  constructor(
    private readonly metrics: Metrics | undefined,
    private readonly logger: Logger,
    private readonly lagIntervalMs = DEFAULT_CONSUMER_LAG_INTERVAL_MS,
  ) {}

  /** The sink, counting each dead letter it sent by the topic the message came from (`countersign_dead_letters_total`). */
  deadLetters(sink: DeadLetterSink): DeadLetterSink {
    const metrics = this.metrics;
    if (!metrics) return sink;
    return async (topic, event) => {
      await sink(topic, event);
      const source = (event.data as { topic?: unknown } | undefined)?.topic;
      metrics.counter('countersign_dead_letters_total').inc({ topic: typeof source === 'string' ? source : topic.replace(/\.dlq$/, '') });
    };
  }

  /** The handlers, each delivery timed (`countersign_kafka_handle_seconds`), failed attempts too. */
  handlers(handlers: HandlerMap): HandlerMap {
    const metrics = this.metrics;
    if (!metrics) return handlers;
    const timed: Record<string, unknown> = {};
    for (const [topic, handler] of Object.entries(handlers) as Array<[string, (e: unknown, c: DeliveryContext) => Promise<void>]>) {
      timed[topic] = async (event: unknown, ctx: DeliveryContext) => {
        const start = process.hrtime.bigint();
        try {
          await handler(event, ctx);
        } finally {
          metrics.histogram('countersign_kafka_handle_seconds').observe({ topic }, seconds(start));
        }
      };
    }
    return timed as HandlerMap;
  }

  /** Awaits a publish and, once the broker (or the in-memory log) took it, records how long that took (`countersign_kafka_produce_seconds`). */
  async produced(topic: string, publish: Promise<void>): Promise<void> {
    if (!this.metrics) return publish;
    const start = process.hrtime.bigint();
    await publish;
    this.metrics.histogram('countersign_kafka_produce_seconds').observe({ topic }, seconds(start));
  }

  /**
   * Keeps `countersign_kafka_consumer_lag{group, topic}` current for one subscription: read at once, then every interval
   * on an unref'd timer (it never holds a process open). A read that fails leaves the last values and is logged at
   * debug (the bus's own errors say more). Returns the stop, which also removes the group's series. Only for groups that
   * keep their position: a replayed subscription's group is per instance and would grow the series without bound.
   */
  trackLag(group: string, topics: readonly string[], read: () => Promise<TopicLag[]> | TopicLag[]): () => void {
    const metrics = this.metrics;
    if (!metrics) return () => undefined;
    const gauge = metrics.gauge('countersign_kafka_consumer_lag');
    let stopped = false;
    let reading = false;
    const refresh = async () => {
      if (reading || stopped) return;
      reading = true;
      try {
        const lags = await read();
        if (!stopped) for (const { topic, lag } of lags) gauge.set({ group, topic }, Math.max(0, lag));
      } catch (err) {
        this.logger.debug({ err, group }, 'consumer lag not read this time');
      } finally {
        reading = false;
      }
    };
    const timer = setInterval(() => void refresh(), this.lagIntervalMs);
    timer.unref();
    void refresh();
    const stop = () => {
      stopped = true;
      clearInterval(timer);
      this.lagStops.delete(stop);
      for (const topic of topics) gauge.remove({ group, topic });
    };
    this.lagStops.add(stop);
    return stop;
  }

  /** Stops every lag refresh and removes its series (the bus closes). */
  stop(): void {
    for (const stop of [...this.lagStops]) stop();
  }
}
