import { ALL_TOPICS, AnyTopic, COMPACTED_TOPICS, EventData, RETAINED_TOPICS, TopicMap } from '@countersign/contracts';
import { createLogger, Logger } from '@countersign/logging';
import type { Metrics } from '@countersign/metrics';
import { Admin, Consumer, ISocketFactory, Kafka, logLevel, Partitioners, Producer } from 'kafkajs';
import { encode } from './codec';
import { fixKafkajsRequestQueue } from './kafkajs-request-queue';
import { deliver, PartitionLanes, Semaphore } from './dispatch';
import { buildEnvelope, EmitOptions } from './envelope';
import { createTopics, KafkaTopicSettings } from './kafka-topics';
import { CatchUp } from './catch-up';
import { OffsetCommits } from './offset-commits';
import { BusMetrics } from './bus-metrics';
import { publishInSpan } from './trace-context';
import { createKafkaLagReader } from './kafka-lag';
import { DEFAULT_CONCURRENCY, DEFAULT_RETRY, DependencyUnavailableError, EventBus, RetryPolicy, SubscribeOptions, Subscription } from './port';

// Before any client exists: kafkajs 2.2.4's connections otherwise wake their process a thousand times a second for good
// (kafkajs-request-queue.ts, docs/adr/0044). Every kafkajs client of the process gets it, the bus's and any other.
fixKafkajsRequestQueue();

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
  /**
   * How long a fetch waits on the broker while its partitions are idle (default 1 s). Not a floor of latency: the
   * broker answers a waiting fetch as soon as a message arrives. A short wait only makes idle consumers poll: at 50 ms
   * the five services spent about half a core doing nothing (bench:spine, 2026-11-30).
   */
  maxWaitTimeInMs?: number;
  /** Partitions a consumer works on at once (default: its handlers in flight). */
  partitionsConsumedConcurrently?: number;
  /** Handlers in flight per subscription when it does not say (different keys side by side; one key in order). */
  concurrency?: number;
  /**
   * How long a publish may take before it fails with `DependencyUnavailableError` (default 3 s): an HTTP
   * caller gets a quick 503 with Retry-After, a handler is retried, instead of waiting out the client's retries.
   */
  publishTimeoutMs?: number;
  /**
   * How long the broker waits for a consumer's heartbeat before it gives its partitions to the others
   * (default 10 s): the stall after a consumer dies. Heartbeats go every second, also during a long handler.
   */
  sessionTimeoutMs?: number;
  /** How the client opens its TCP connections (kafkajs' `socketFactory`): fault tests cut one client off the broker. */
  socketFactory?: ISocketFactory;
  /**
   * How long one request waits for the broker's answer before kafkajs gives up on it and retries (kafkajs' default 30 s).
   * A request sent on a connection that died without a word waits this long: fault tests that cut the link shorten it.
   */
  requestTimeoutMs?: number;
  /** The process's metrics: dead letters, publish and handler times, consumer lag (ADR 0021). None: not measured. */
  metrics?: Metrics;
  /**
   * How soon a kept-position group commits what it handled (default 100 ms): in the background, not after each batch on
   * the fetch path, and only when something was handled (see offset-commits.ts). A crash delivers again at most what one
   * interval handled.
   */
  commitIntervalMs?: number;
  /** How often each kept-position group's lag is read from the broker (default 15 s). */
  consumerLagIntervalMs?: number;
  /**
   * Mutual TLS to the broker's SSL listener (PEM: the root to trust, this party's certificate chain and key). The
   * broker maps the certificate's subject to the principal its ACLs name (docs/adr/0026). None: plaintext.
   */
  tls?: { ca: string; cert: string; key: string };
  /**
   * A user and password (SASL PLAIN) for a listener that asks for them: the stack's plaintext listener admits only its
   * admin this way (docs/adr/0026). None: no sign-in (mutual TLS names the party instead).
   */
  sasl?: KafkaSasl;
}

/** SASL PLAIN credentials, in the shape kafkajs takes. */
export interface KafkaSasl {
  mechanism: 'plain';
  username: string;
  password: string;
}

/** The default of `KafkaBusOptions.sessionTimeoutMs` (a kill -9 stalls a partition about this long). */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
const HEARTBEAT_MS = 1_000;

/** kafkajs errors that say the broker is not reachable or not answering (rather than refusing the message). */
const UNAVAILABLE = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSLockTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
]);

/** Whether a kafkajs error means Kafka is away (a retriable protocol error too: no leader, not a leader, …). */
function kafkaUnavailable(e: unknown): boolean {
  const err = e as { name?: string; retriable?: boolean } | undefined;
  return !!err && (UNAVAILABLE.has(err.name ?? '') || (err.name === 'KafkaJSProtocolError' && err.retriable === true));
}

interface Pending {
  topic: string;
  key: string | null;
  value: Buffer;
  /** W3C trace context of the publish (`traceparent`), as Kafka record headers. */
  headers: Record<string, string>;
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
  private producer: Producer;
  private readonly admin: Admin;
  private readonly logger: Logger;
  private readonly retry: RetryPolicy;
  private readonly ns: string;
  private readonly consumers = new Set<Consumer>();
  private connected?: Promise<void>;
  /** Whether `connected` has resolved (and no failed send has replaced the producer since). */
  private ready = false;
  private queue: Pending[] = [];
  private readonly publishTimeoutMs: number;
  private flushing = false;
  /** What the bus still has in flight with Kafka (a flush, a failed producer's disconnect): `close` lets it settle. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly source: string;
  private readonly measured: BusMetrics;

  constructor(private readonly options: KafkaBusOptions) {
    this.source = options.source ?? options.clientId;
    this.logger = options.logger ?? createLogger('bus');
    this.measured = new BusMetrics(options.metrics, this.logger, options.consumerLagIntervalMs);
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.ns = options.namespace ? `${options.namespace}.` : '';
    this.publishTimeoutMs = options.publishTimeoutMs ?? 3_000;
    const log = this.logger;
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: logLevel.WARN,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 3_000 },
      ...(options.requestTimeoutMs ? { requestTimeout: options.requestTimeoutMs } : {}),
      ...(options.socketFactory ? { socketFactory: options.socketFactory } : {}),
      ...(options.tls ? { ssl: { ca: [options.tls.ca], cert: options.tls.cert, key: options.tls.key, rejectUnauthorized: true } } : {}),
      // A copy: kafkajs stores its sign-in, bound to these credentials, on the object it is given.
      ...(options.sasl ? { sasl: { ...options.sasl } } : {}),
      logCreator:
        () =>
        ({ level, log: entry }) => {
          const { message, ...rest } = entry;
          // Said once per producer because its retries are bounded (above): known and wanted, not a warning.
          if (message.startsWith('Limiting retries for the idempotent producer')) return;
          if (level <= logLevel.ERROR) log.error({ kafka: rest }, message);
          else log.warn({ kafka: rest }, message);
        },
    });
    this.producer = this.newProducer();
    this.admin = this.kafka.admin();
  }

  /**
   * Idempotent, one request in flight: a retried send neither duplicates nor reorders a key's events. A producer
   * whose send failed is replaced (a new producer id): after a partial failure kafkajs winds back the sequence
   * numbers of every partition of the request, including those the broker wrote, and the next send to one of them
   * is either dropped by the broker as a duplicate (acknowledged, yet lost) or refused as out of order for good.
   */
  private newProducer(): Producer {
    return this.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      idempotent: true,
      maxInFlightRequests: 1,
      // Gives up within about 2.5 s when the broker is away (the client's retries took ~14 s), yet rides out a new
      // topic's leader election (~0.5 s); the caller hears DependencyUnavailableError and retries (a handler) or
      // answers 503 (an HTTP request). The send is failed, not left in flight, so the caller's retry is the only copy.
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
    });
  }

  /** Connects the producer and creates every registry topic (and its dead-letter topic) if missing. */
  connect(): Promise<void> {
    this.connected ??= (async () => {
      await this.admin.connect();
      const existing = new Set(await this.admin.listTopics());
      const missing = ALL_TOPICS.map((t) => this.wire(t)).filter((t) => !existing.has(t));
      const compacted = new Set([...COMPACTED_TOPICS].map((t) => this.wire(t)));
      const retained = new Set([...RETAINED_TOPICS].map((t) => this.wire(t)));
      if (missing.length) await createTopics(this.admin, missing, this.options.partitions ?? 6, undefined, compacted, retained);
      await this.checkTopicSettings(
        ALL_TOPICS.map((t) => this.wire(t)).filter((t) => existing.has(t)),
        compacted,
        retained,
      );
      await this.producer.connect();
      this.ready = true;
    })().catch((e: unknown) => {
      this.connected = undefined; // the next call tries again: the broker may be back
      throw kafkaUnavailable(e) ? new DependencyUnavailableError(`Kafka is not reachable: ${(e as Error).message}`, { cause: e }) : e;
    });
    return this.connected;
  }

  /**
   * The compacted and retained topics found (not made here) have their kind's settings, or are given them: a topic made
   * before a setting was added keeps what it had, and a contract-change topic that deletes after a week runs the
   * contract file again at the next restart. One that is wrong where it matters and cannot be changed by this client
   * (its ACLs, as a service's are) stops the boot, naming the `kafka-configs` command; one that cannot be read is
   * logged (a service granted no DESCRIBE_CONFIGS before this version).
   */
  private async checkTopicSettings(topics: string[], compacted: ReadonlySet<string>, retained: ReadonlySet<string>): Promise<void> {
    const { fixed, refused, unreadable } = await new KafkaTopicSettings(this.admin, compacted, retained).align(topics);
    for (const f of fixed) this.logger.warn({ topic: f.topic, wrong: f.wrong }, `topic ${f.topic} had settings other than its kind's: they are set now`);
    for (const u of unreadable) this.logger.warn({ topic: u.topic, reason: u.reason }, `the settings of topic ${u.topic} cannot be read: not checked`);
    for (const f of refused.filter((r) => !r.essential))
      this.logger.warn({ topic: f.topic, wrong: f.wrong, reason: f.reason }, `topic ${f.topic} is not tuned as its kind is: ${f.command}`);
    const broken = refused.filter((r) => r.essential);
    if (broken.length)
      throw new Error(
        broken
          .map(
            (f) =>
              `topic ${f.topic} has ${f.wrong.map((w) => `${w.name}=${w.have}`).join(', ')}, and would lose events it must keep ` +
              `(${f.wrong.map((w) => `${w.name}=${w.want}`).join(', ')} wanted), and this client may not change it (${f.reason}): ` +
              f.command,
          )
          .join('; '),
      );
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
    await this.measured.produced(
      topic,
      publishInSpan(topic, event.subject, (headers) => this.send(this.wire(topic), event.subject, encode(topic, event), headers)),
    );
  }

  async publishRaw(topic: string, key: string | null, value: Buffer | string): Promise<void> {
    await publishInSpan(topic, key, (headers) => this.send(this.wire(topic), key, Buffer.isBuffer(value) ? value : Buffer.from(value), headers));
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    await this.connect();
    const catchUp = options.replay && options.onCaughtUp ? new CatchUp(Object.keys(options.handlers).length, options.onCaughtUp) : undefined;
    // Where each partition ends before the subscription reads anything: what it must handle to be current.
    const ends = catchUp ? await Promise.all((Object.keys(options.handlers) as AnyTopic[]).map(async (t) => [t, await this.ends(t)] as const)) : [];
    const groupId = this.ns + options.group;
    const consumer = this.kafka.consumer({
      groupId,
      // kafkajs has no static membership (group.instance.id) nor cooperative rebalancing: a dead consumer's
      // partitions wait for its session to expire. Short, since heartbeats also go during long handlers
      // (below): a busy two-core machine does not miss ten of them.
      sessionTimeout: this.options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS,
      heartbeatInterval: HEARTBEAT_MS,
      rebalanceTimeout: 20_000,
      maxWaitTimeInMs: this.options.maxWaitTimeInMs ?? 1_000,
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
    // A replayed subscription keeps no position; the others commit what they handled in the background.
    const commits = options.replay
      ? undefined
      : new OffsetCommits((o) => consumer.commitOffsets(o), this.logger, options.group, this.options.commitIntervalMs ?? DEFAULT_COMMIT_INTERVAL_MS);
    // Per partition (`<wire topic>/<partition>`), its lanes: a batch is not a barrier (PartitionLanes, dispatch.ts).
    const lanes = new Map<string, PartitionLanes>();
    const alive = new Map<string, () => boolean>();
    /**
     * Lanes a delivery stopped while this member owns the partition: kafkajs has read past what they did not handle, so
     * the partition is read again from there, into new lanes. (A consumer that restarts reads from the committed prefix,
     * which is no later, and a seek it loses on the way changes nothing.)
     */
    const readAgain = (key: string, topic: string, partition: number, stopped: PartitionLanes) => {
      if (closed || lanes.get(key) !== stopped) return;
      lanes.delete(key);
      try {
        consumer.seek({ topic, partition, offset: stopped.resumeFrom });
      } catch (e) {
        this.logger.warn({ err: e, group: options.group, topic, partition }, 'could not seek back; the partition is read again from its committed prefix');
      }
    };
    let joins = 0;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      commits?.retain(payload.memberAssignment);
      // A partition another member owns now: its lanes stop (what they hold is that member's to deliver, from the prefix).
      const kept = new Set(Object.entries(payload.memberAssignment).flatMap(([t, ps]) => ps.map((p) => `${t}/${p}`)));
      for (const key of [...lanes.keys()]) if (!kept.has(key)) lanes.delete(key);
      if (++joins > 1) this.logger.info({ group: options.group, memberId: payload.memberId, generationId: payload.groupId }, 'consumer group rebalanced');
    });
    await consumer.connect();
    const topics = Object.keys(options.handlers) as AnyTopic[];
    await consumer.subscribe({ topics: topics.map((t) => this.wire(t)), fromBeginning: true });
    // Handlers in flight for this subscription, over all its partitions; each key stays in order.
    const inFlight = options.concurrency ?? this.options.concurrency ?? DEFAULT_CONCURRENCY;
    const slots = new Semaphore(inFlight);
    const handlers = this.measured.handlers(options.handlers);
    const deadLetter = this.measured.deadLetters((dlq, event) => this.publish(dlq, event));
    // Deliveries under way or queued: `close` lets them end before it commits for the last time.
    const delivering = new Set<Promise<void>>();
    await consumer.run({
      // Committed by `commits` (above), off the fetch path.
      autoCommit: false,
      // As many partitions at once as there are slots: no partition waits for another's batch while a slot is free.
      partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? inFlight,
      // The fetch goes on past a batch once its events are queued in their lanes: the lanes commit the handled prefix.
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale }) => {
        const topic = batch.topic.slice(this.ns.length);
        const key = `${batch.topic}/${batch.partition}`;
        // A seek is pending (the lanes stopped, below): this batch is read again from there.
        if (isStale()) return;
        // Whether kafkajs still reads this partition for us: the latest batch's view (a restarted consumer keeps the lanes).
        alive.set(key, () => isRunning() && !isStale());
        let partition = lanes.get(key);
        if (partition?.stopped) {
          readAgain(key, batch.topic, batch.partition, partition);
          return;
        }
        if (!partition) {
          const current = () => lanes.get(key) === created;
          const created: PartitionLanes = new PartitionLanes(
            slots,
            (m) => deliver(m, options.group, handlers, this.retry, deadLetter, this.logger, () => closed || !current() || !alive.get(key)!(), heartbeat),
            (offset) => {
              if (!current()) return; // the partition moved: its new owner commits
              commits?.handled(batch.topic, batch.partition, offset);
              catchUp?.handled(topic, batch.partition, Number(offset) + 1);
            },
            (delivery) => {
              delivering.add(delivery);
              void delivery.finally(() => delivering.delete(delivery));
            },
            () => readAgain(key, batch.topic, batch.partition, created),
          );
          lanes.set(key, created);
          partition = created;
        }
        for (const m of batch.messages)
          partition.push({ topic, partition: batch.partition, offset: m.offset, key: m.key?.toString('utf8') ?? null, value: m.value, headers: m.headers });
        // Back-pressure: kafkajs fetches again once this returns; kafkajs heartbeats only when asked, so keep the
        // session alive while this waits.
        const beat = setInterval(() => void heartbeat().catch(() => undefined), HEARTBEAT_MS);
        try {
          await partition.room(Math.max(inFlight, MIN_OUTSTANDING));
        } finally {
          clearInterval(beat);
        }
      },
    });
    await joined;
    for (const [t, end] of ends) catchUp!.ends(t, end);
    const wireTopics = topics.map((t) => this.wire(t));
    const stopLag = options.replay
      ? () => undefined
      : this.measured.trackLag(options.group, topics, () => createKafkaLagReader(this.admin, this.ns)(groupId, wireTopics));
    return {
      close: async () => {
        closed = true;
        stopLag();
        // What is being handled ends (a handler is not retried once closed), and what was handled is committed while
        // the consumer is still a member of its group; then it leaves.
        if (delivering.size) await settledWithin([...delivering], CLOSE_DRAIN_MS);
        // Bounded: with the broker away, kafkajs retries a commit for long; what it could not commit is delivered again.
        if (commits) await settledWithin([commits.stop()], CLOSE_DRAIN_MS);
        this.consumers.delete(consumer);
        await consumer.disconnect();
        // A replayed subscription's group is this instance's alone: it goes with it.
        if (options.replay)
          await this.admin.deleteGroups([groupId]).catch((e) => this.logger.warn({ err: e, group: options.group }, 'could not delete a replay group'));
      },
    };
  }

  /**
   * The next offset after the last message of each partition of `topic` (0 for an empty one). A topic created a
   * moment ago may not have its leaders yet: retried for up to 30 s.
   */
  private async ends(topic: AnyTopic): Promise<Array<{ partition: number; end: number }>> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const offsets = await this.admin.fetchTopicOffsets(this.wire(topic));
        return offsets.map((o) => ({ partition: o.partition, end: o.low === o.high ? 0 : Number(o.high) }));
      } catch (e) {
        if (!kafkaUnavailable(e) || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
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
    this.measured.stop();
    await Promise.allSettled([...this.consumers].map((c) => c.disconnect()));
    this.consumers.clear();
    // A publish still in a request (kafkajs retries it) ends before the producer goes, for at most CLOSE_DRAIN_MS: nothing
    // of the bus runs on after `close` (a retry scheduled past it would run in a process, or a test, that has moved on).
    await this.settled(CLOSE_DRAIN_MS);
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }

  /**
   * Waits until nothing the bus sent is still in a request with Kafka (kafkajs retries a send until it lands or gives up),
   * for at most `timeoutMs`; true when nothing is.
   */
  async settled(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    // What settles may leave work of its own (a failed send retires its producer): looked at again until none is left.
    while (this.inFlight.size && Date.now() < deadline) await settledWithin([...this.inFlight], deadline - Date.now());
    return this.inFlight.size === 0;
  }

  /** Keeps `work` among what `close` waits for until it settles. */
  private track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    const forget = () => void this.inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }

  private wire(topic: string): string {
    return this.ns + topic;
  }

  /** Publishes made in the same tick travel in one `sendBatch` request; each fails after `publishTimeoutMs`. */
  private async send(topic: string, key: string | null, value: Buffer, headers: Record<string, string>): Promise<void> {
    // The deadline counts from a connected bus: a first publish that creates the topics may take longer. Once
    // connected, no await: a publish is on the hot path, and each promise costs more where async hooks are on.
    if (!this.ready) await this.connect();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Not sent yet: it never will be. Already in a request: it may still land (at-least-once, as any retry).
        const i = this.queue.indexOf(pending);
        if (i >= 0) this.queue.splice(i, 1);
        reject(new DependencyUnavailableError(`Kafka did not take the event within ${this.publishTimeoutMs} ms`));
      }, this.publishTimeoutMs);
      const settle =
        <A extends unknown[]>(f: (...a: A) => void) =>
        (...a: A) => {
          clearTimeout(timer);
          f(...a);
        };
      const pending: Pending = { topic, key, value, headers, resolve: settle(resolve), reject: settle(reject) };
      this.queue.push(pending);
      if (!this.flushing) setImmediate(() => void this.track(this.flush()));
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      await this.connect();
      while (this.queue.length) {
        const batch = this.queue.splice(0, 500);
        const byTopic = new Map<string, { key: string | null; value: Buffer; headers: Record<string, string> }[]>();
        for (const p of batch) {
          const messages = byTopic.get(p.topic);
          const message = { key: p.key, value: p.value, headers: p.headers };
          if (messages) messages.push(message);
          else byTopic.set(p.topic, [message]);
        }
        try {
          await this.producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
          batch.forEach((p) => p.resolve());
        } catch (e) {
          // Encoded and validated before: whatever failed here was Kafka's answer, so the caller may retry (503, redelivery).
          const error = new DependencyUnavailableError(`Kafka did not take the event: ${(e as Error).message}`, { cause: e });
          batch.forEach((p) => p.reject(error));
          const failed = this.producer;
          this.producer = this.newProducer();
          this.connected = undefined; // the next send connects the new producer
          this.ready = false;
          void this.track(failed.disconnect().catch(() => undefined));
        }
      }
    } catch (e) {
      this.queue.splice(0).forEach((p) => p.reject(e));
    } finally {
      this.flushing = false;
    }
  }
}

/** How long `close` waits for what the bus has in flight with Kafka before it disconnects anyway. */
const CLOSE_DRAIN_MS = 5_000;
/** Events a partition may hold in its lanes (at least; the subscription's concurrency if larger) before its fetch waits. */
const MIN_OUTSTANDING = 256;
/** The default of `KafkaBusOptions.commitIntervalMs`. */
const DEFAULT_COMMIT_INTERVAL_MS = 100;

/** Resolves when every promise has settled, or after `ms`, whichever comes first (never rejects, leaves no timer). */
async function settledWithin(work: Promise<unknown>[], ms: number): Promise<void> {
  if (!work.length) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled(work), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
