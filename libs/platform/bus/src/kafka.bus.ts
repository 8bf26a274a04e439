import { ALL_TOPICS, AnyTopic, EventData, TopicMap } from '@countersign/contracts';
import { createLogger, Logger } from '@countersign/logging';
import { Admin, Consumer, Kafka, logLevel, Partitioners, Producer } from 'kafkajs';
import { encode } from './codec';
import { deliver, deliverBatch, Semaphore } from './dispatch';
import { buildEnvelope, EmitOptions } from './envelope';
import { createTopics } from './kafka-topics';
import { DEFAULT_CONCURRENCY, DEFAULT_RETRY, EventBus, RetryPolicy, SubscribeOptions, Subscription } from './port';

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  /** The running service: the `source` of what it emits (default: the client id). */
  source?: string;
  /** Prepended to every topic and group on the wire, to isolate test runs on one broker. Empty in production. */
  namespace?: string;
  partitions?: number;
  retry?: Partial<RetryPolicy>;
  logger?: Logger;
  /** How long a fetch waits for data when the topic is idle: the floor of end-to-end latency. */
  maxWaitTimeInMs?: number;
  /** Partitions a consumer works on at once (default: its handlers in flight). */
  partitionsConsumedConcurrently?: number;
  /** Handlers in flight per subscription when it does not say (different keys side by side; one key in order). */
  concurrency?: number;
}

interface Pending {
  topic: string;
  key: string | null;
  value: Buffer;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * The Kafka adapter: a thin transport over kafkajs (see docs/adr/0002-kafka-transport.md). It keeps all
 * kafkajs code in one place, batches concurrent publishes into one request, commits offsets only after
 * a handler finished (at-least-once), and shares its delivery logic with the in-memory bus.
 */
export class KafkaBus implements EventBus {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly logger: Logger;
  private readonly retry: RetryPolicy;
  private readonly ns: string;
  private readonly consumers = new Set<Consumer>();
  private connected?: Promise<void>;
  private queue: Pending[] = [];
  private flushing = false;
  private readonly source: string;

  constructor(private readonly options: KafkaBusOptions) {
    this.source = options.source ?? options.clientId;
    this.logger = options.logger ?? createLogger('bus');
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.ns = options.namespace ? `${options.namespace}.` : '';
    const log = this.logger;
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: logLevel.WARN,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 3_000 },
      logCreator:
        () =>
        ({ level, log: entry }) => {
          const { message, ...rest } = entry;
          if (level <= logLevel.ERROR) log.error({ kafka: rest }, message);
          else log.warn({ kafka: rest }, message);
        },
    });
    // Idempotent, one request in flight: a retried send neither duplicates nor reorders a key's events.
    this.producer = this.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    this.admin = this.kafka.admin();
  }

  /** Connects the producer and creates every registry topic (and its dead-letter topic) if missing. */
  connect(): Promise<void> {
    this.connected ??= (async () => {
      await this.admin.connect();
      const existing = new Set(await this.admin.listTopics());
      const missing = ALL_TOPICS.map((t) => this.wire(t)).filter((t) => !existing.has(t));
      if (missing.length) await createTopics(this.admin, missing, this.options.partitions ?? 6);
      await this.producer.connect();
    })();
    return this.connected;
  }

  envelope<T extends AnyTopic>(topic: T, data: EventData<T>, options: EmitOptions): TopicMap[T] {
    return buildEnvelope(topic, data, this.source, options);
  }

  async emit<T extends AnyTopic>(topic: T, data: EventData<T>, options: EmitOptions): Promise<TopicMap[T]> {
    const event = this.envelope(topic, data, options);
    await this.publish(topic, event);
    return event;
  }

  async publish<T extends AnyTopic>(topic: T, event: TopicMap[T]): Promise<void> {
    await this.send(this.wire(topic), event.subject, encode(topic, event));
  }

  async publishRaw(topic: string, key: string | null, value: Buffer | string): Promise<void> {
    await this.send(this.wire(topic), key, Buffer.isBuffer(value) ? value : Buffer.from(value));
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    await this.connect();
    const consumer = this.kafka.consumer({
      groupId: this.ns + options.group,
      // Generous: a busy two-core machine must not look dead and trigger a rebalance (which redelivers).
      sessionTimeout: 30_000,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 20_000,
      maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? 50,
      allowAutoTopicCreation: false,
    });
    this.consumers.add(consumer);
    let closed = false;
    const joined = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumer group ${options.group} did not join within 60 s`)), 60_000);
      consumer.on(consumer.events.GROUP_JOIN, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await consumer.connect();
    const topics = Object.keys(options.handlers) as AnyTopic[];
    await consumer.subscribe({ topics: topics.map((t) => this.wire(t)), fromBeginning: true });
    // Handlers in flight for this subscription, over all its partitions; each key stays in order.
    const inFlight = options.concurrency ?? this.options.concurrency ?? DEFAULT_CONCURRENCY;
    const slots = new Semaphore(inFlight);
    await consumer.run({
      // As many partitions at once as there are slots: no partition waits for another's batch while a slot is free.
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? inFlight,
      // Offsets are resolved as the handled prefix of the batch grows, and committed from there.
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        const topic = batch.topic.slice(this.ns.length);
        const messages = batch.messages.map((m) => ({
          topic,
          partition: batch.partition,
          offset: m.offset,
          key: m.key?.toString('utf8') ?? null,
          value: m.value,
        }));
        await deliverBatch(
          messages,
          slots,
          (m) =>
            deliver(
              m,
              options.group,
              options.handlers,
              this.retry,
              (dlq, event) => this.publish(dlq, event),
              this.logger,
              () => closed || !isRunning() || isStale(),
              heartbeat,
            ),
          resolveOffset,
          heartbeat,
        );
      },
    });
    await joined;
    return {
      close: async () => {
        closed = true;
        this.consumers.delete(consumer);
        await consumer.disconnect();
      },
    };
  }

  /** Deletes every topic of this bus's namespace (test runs clean up after themselves). */
  async deleteNamespaceTopics(): Promise<void> {
    if (!this.ns) throw new Error('refusing to delete topics without a namespace');
    await this.connect();
    const topics = (await this.admin.listTopics()).filter((t) => t.startsWith(this.ns));
    if (topics.length) await this.admin.deleteTopics({ topics, timeout: 30_000 });
  }

  /** The group's state and member count on the broker (`Stable` once a rebalance has completed). */
  async describeGroup(group: string): Promise<{ state: string; members: number }> {
    await this.connect();
    const { groups } = await this.admin.describeGroups([this.ns + group]);
    return { state: groups[0]?.state ?? 'Unknown', members: groups[0]?.members.length ?? 0 };
  }

  async healthy(): Promise<boolean> {
    try {
      await this.connect();
      await this.admin.describeCluster();
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.consumers].map((c) => c.disconnect()));
    this.consumers.clear();
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }

  private wire(topic: string): string {
    return this.ns + topic;
  }

  /** Publishes made in the same tick travel in one `sendBatch` request. */
  private send(topic: string, key: string | null, value: Buffer): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ topic, key, value, resolve, reject });
      if (!this.flushing) setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      await this.connect();
      while (this.queue.length) {
        const batch = this.queue.splice(0, 500);
        const byTopic = new Map<string, { key: string | null; value: Buffer }[]>();
        for (const p of batch) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), { key: p.key, value: p.value }]);
        try {
          await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
          batch.forEach((p) => p.resolve());
        } catch (e) {
          batch.forEach((p) => p.reject(e));
        }
      }
    } catch (e) {
      this.queue.splice(0).forEach((p) => p.reject(e));
    } finally {
      this.flushing = false;
    }
  }
}
