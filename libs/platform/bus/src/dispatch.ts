import { AnyTopic, derivedEventId, dlqTopic, isIdentifier, Topic, TopicMap } from '@countersign/contracts';
import { Logger, withLogContext } from '@countersign/logging';
import { decode } from './codec';
import { buildEnvelope } from './envelope';
import { isDependencyFailure } from './failures';
import { DeliveryContext, HandlerMap, RefusedEvent, RetryPolicy, StoreDamagedError } from './port';
import { handleInSpan, MessageHeaders } from './trace-context';

/** What the adapters need to send a dead letter. */
export type DeadLetterSink = (topic: AnyTopic, event: TopicMap[AnyTopic]) => Promise<void>;

export interface RawMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  /** The message's headers: its producer's W3C `traceparent` (see trace-context.ts). */
  headers?: MessageHeaders;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The delivery logic both adapters share, so they cannot drift apart: decode and validate, run the
 * handler inside the event's log context and a consumer span under the producer's (its `traceparent`),
 * redeliver on failure with backoff, and dead-letter what cannot be handled — with the reason — so the
 * partition keeps moving.
 */
export async function deliver(
  msg: RawMessage,
  group: string,
  handlers: HandlerMap,
  retry: RetryPolicy,
  deadLetter: DeadLetterSink,
  logger: Logger,
  isClosed: () => boolean = () => false,
  keepAlive: () => Promise<void> = async () => undefined,
): Promise<void> {
  const handler = handlers[msg.topic as AnyTopic] as ((e: unknown, c: DeliveryContext) => Promise<void>) | undefined;
  if (!handler) return;
  // One span for the whole delivery (retries and a dead letter included): its logs and the dead letter join the trace.
  return handleInSpan(msg, group, () => deliverTo(handler, msg, group, retry, deadLetter, logger, isClosed, keepAlive));
}

async function deliverTo(
  handler: (e: unknown, c: DeliveryContext) => Promise<void>,
  msg: RawMessage,
  group: string,
  retry: RetryPolicy,
  deadLetter: DeadLetterSink,
  logger: Logger,
  isClosed: () => boolean,
  keepAlive: () => Promise<void>,
): Promise<void> {
  const decoded = decode(msg.topic, msg.key, msg.value);
  if (!decoded.ok) {
    // Every group that reads these bytes finds them unreadable for the same reason: one dead letter id
    // for all of them, so the audit trail (which dedupes by id) records it once.
    await sendToDlq(msg, group, decoded.reason, decoded.partial?.correlationId, deadLetter, logger, '');
    return;
  }
  const event = decoded.event;
  let lastError: unknown;
  let failures = 0;
  let outage = 0;
  for (let attempt = 1; ; attempt++) {
    if (isClosed()) throw new Error('subscription closed during delivery; the message will be redelivered');
    try {
      await withLogContext({ correlationId: event.correlationId, actionId: event.subject, eventId: event.id }, async () => {
        await handler(event, { topic: msg.topic as AnyTopic, partition: msg.partition, offset: msg.offset, key: msg.key, attempt });
        // At debug level every handled event leaves a line with its correlation and trace id: one action can be
        // followed through each service's log.
        logger.debug({ topic: msg.topic, group, attempt }, 'event handled');
      });
      if (outage) logger.warn({ topic: msg.topic, group, attempts: outage }, 'dependency back; handled');
      return;
    } catch (e) {
      if (e instanceof RefusedEvent) {
        await sendToDlq(msg, group, e.message, event.correlationId, deadLetter, logger, group);
        return;
      }
      if (isDependencyFailure(e) || e instanceof StoreDamagedError) {
        // Not the message's fault: wait for the dependency (or the damaged store's repair), however long, and lose nothing.
        outage++;
        // The reason, not a stack trace: an outage is expected, and its line repeats while it lasts.
        if (outage === 1 || outage % 20 === 0)
          logger.warn(
            { reason: e instanceof Error ? e.message : String(e), topic: msg.topic, attempt, group, correlationId: event.correlationId },
            'a dependency is unavailable; retrying until it is back',
          );
        await keepAlive();
        await sleep(Math.min(retry.maxBackoffMs, retry.initialBackoffMs * 2 ** Math.min(outage - 1, 16)));
        await keepAlive();
        continue;
      }
      lastError = e;
      failures++;
      logger.warn({ err: e, topic: msg.topic, attempt, group, correlationId: event.correlationId }, 'handler failed; redelivering');
      if (failures >= retry.maxAttempts) break;
      await sleep(Math.min(retry.maxBackoffMs, retry.initialBackoffMs * 2 ** (failures - 1)));
    }
  }
  await sendToDlq(
    msg,
    group,
    `handler failed after ${retry.maxAttempts} attempts: ${(lastError as Error)?.message ?? String(lastError)}`,
    event.correlationId,
    deadLetter,
    logger,
    group,
  );
}

async function sendToDlq(
  msg: RawMessage,
  group: string,
  reason: string,
  correlationId: string | undefined,
  deadLetter: DeadLetterSink,
  logger: Logger,
  discriminator: string,
) {
  if (msg.topic.endsWith('.dlq')) {
    // A broken dead letter is not sent further down: that would loop. It stays on its topic for operators.
    logger.error({ topic: msg.topic, partition: msg.partition, offset: msg.offset, reason }, 'unreadable message on a dead-letter topic; skipped');
    return;
  }
  const target = dlqTopic(msg.topic as Topic);
  // Deterministic: a redelivered poison message yields the same dead letter, dropped downstream.
  const id = derivedEventId(target, `${msg.topic}/${msg.partition}/${msg.offset}`, discriminator);
  const raw = msg.value ?? Buffer.alloc(0);
  const data = {
    topic: msg.topic,
    partition: msg.partition,
    offset: msg.offset,
    consumerGroup: group,
    reason,
    rawPreview: raw.subarray(0, 4096).toString('utf8'),
    rawBytes: raw.length,
    key: msg.key,
  };
  // A key that is no valid subject (control characters, too long) must not make the dead letter unpublishable.
  const event = buildEnvelope(target, data, group, { id, subject: isIdentifier(msg.key) ? msg.key : `dead-letter:${id}`, correlationId: correlationId ?? id });
  logger.warn({ topic: msg.topic, partition: msg.partition, offset: msg.offset, reason, correlationId: event.correlationId }, 'dead-lettered');
  await deadLetter(target, event);
}

/** At most `limit` tasks at once; the rest wait their turn in arrival order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * Delivers one partition's messages across batches, so a batch is not a barrier (issue 14): the events of one key in
 * offset order, different keys side by side (as many as `slots` lets run), and a key still running holds only the
 * events of its own key, not the next batch. `done` hears the offset below which everything received is handled, one by
 * one, as it grows: offsets are tracked over what was received, not counted (a compacted topic skips offsets).
 *
 * A delivery that is interrupted (the subscription closed, the partition moved) stops the lanes: nothing queued behind
 * it runs, the prefix stays where it is, and the owner that reads the partition next delivers from there. A message at
 * or below the highest offset pushed is skipped: a fetch from the committed offset after a rejoin brings again what
 * the lanes hold (handled, running or queued).
 */
export class PartitionLanes {
  private readonly tails = new Map<string | null, Promise<void>>();
  /** Offsets received in order; `head` is the first one not handled yet. */
  private received: string[] = [];
  private head = 0;
  private readonly finished = new Set<string>();
  private highest = -1n;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private stoppedBy?: unknown;

  constructor(
    private readonly slots: Semaphore,
    private readonly deliverOne: (m: RawMessage) => Promise<void>,
    private readonly done: (offset: string) => void,
    private readonly track: (delivery: Promise<void>) => void = () => undefined,
    /** Told once, when a delivery is interrupted: the partition is to be read again from `resumeFrom`. */
    private readonly onStop: () => void = () => undefined,
  ) {}

  /** Whether a delivery was interrupted: these lanes take nothing more (the partition is read again from its prefix). */
  get stopped(): boolean {
    return this.stoppedBy !== undefined;
  }

  /** Where to read the partition again once stopped: the first offset received and not handled (else the next one). */
  get resumeFrom(): string {
    return this.head < this.received.length ? this.received[this.head] : String(this.highest + 1n);
  }

  /** Events pushed and not yet settled. */
  get outstanding(): number {
    return this.running;
  }

  /** Queues `m` behind the earlier events of its key. */
  push(m: RawMessage): void {
    const offset = BigInt(m.offset);
    if (this.stopped || offset <= this.highest) return;
    this.highest = offset;
    this.received.push(m.offset);
    this.running++;
    const before = this.tails.get(m.key) ?? Promise.resolve();
    const settled = before
      .then(() => {
        if (this.stopped) throw this.stoppedBy;
        return this.slots.run(() => this.deliverOne(m));
      })
      .then(
        () => this.handled(m.offset),
        (e: unknown) => {
          if (this.stopped) return;
          this.stoppedBy = e ?? new Error('delivery interrupted');
          this.onStop();
        },
      )
      .finally(() => {
        this.running--;
        if (this.tails.get(m.key) === settled) this.tails.delete(m.key);
        this.waiting.splice(0).forEach((wake) => wake());
      });
    this.tails.set(m.key, settled);
    this.track(settled);
  }

  /** Resolves once at most `limit` events are outstanding, or the lanes stopped: back-pressure on the fetch. */
  async room(limit: number): Promise<void> {
    while (this.running > limit && !this.stopped) await new Promise<void>((r) => this.waiting.push(r));
  }

  /** Resolves once nothing pushed is outstanding (running or queued). */
  async idle(): Promise<void> {
    while (this.running > 0) await new Promise<void>((r) => this.waiting.push(r));
  }

  private handled(offset: string): void {
    this.finished.add(offset);
    const from = this.head;
    while (this.head < this.received.length && this.finished.delete(this.received[this.head])) this.head++;
    if (this.head === from) return;
    this.done(this.received[this.head - 1]);
    if (this.head > 1_024 && this.head * 2 > this.received.length) {
      this.received = this.received.slice(this.head);
      this.head = 0;
    }
  }
}
