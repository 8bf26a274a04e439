import { AnyTopic, derivedEventId, dlqTopic, isIdentifier, Topic, TopicMap } from '@countersign/contracts';
import { Logger, withLogContext } from '@countersign/logging';
import { decode } from './codec';
import { buildEnvelope } from './envelope';
import { isDependencyFailure } from './failures';
import { DeliveryContext, HandlerMap, RefusedEvent, RetryPolicy } from './port';
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
      if (isDependencyFailure(e)) {
        // Not the message's fault: wait for the dependency, however long, and lose nothing.
        outage++;
        if (outage === 1 || outage % 20 === 0)
          logger.warn(
            { err: e, topic: msg.topic, attempt, group, correlationId: event.correlationId },
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
 * Delivers a batch of one partition: the events of one key in offset order, different keys side by
 * side (as many as `slots` lets run). Kafka only promises order per partition; Countersign needs it per
 * action (the key), so this keeps what matters and stops one slow action from holding up its
 * partition. `done` hears the offset below which everything is handled (or dead-lettered), as it
 * grows, so an interrupted batch is redelivered only from its first unfinished message. Rejects if a
 * delivery was interrupted (the subscription closed, the group rebalanced).
 */
export async function deliverBatch(
  messages: RawMessage[],
  slots: Semaphore,
  deliverOne: (m: RawMessage) => Promise<void>,
  done: (offset: string) => void = () => undefined,
  afterEach: () => Promise<void> = async () => undefined,
): Promise<void> {
  const byKey = new Map<string | null, number[]>();
  messages.forEach((m, i) => {
    const lane = byKey.get(m.key);
    if (lane) lane.push(i);
    else byKey.set(m.key, [i]);
  });
  const finished = new Array<boolean>(messages.length).fill(false);
  let contiguous = 0;
  let failure: { error: unknown } | undefined;
  await Promise.all(
    [...byKey.values()].map((lane) =>
      slots.run(async () => {
        for (const i of lane) {
          if (failure) return;
          try {
            await deliverOne(messages[i]);
            finished[i] = true;
            if (i === contiguous) {
              while (contiguous < messages.length && finished[contiguous]) contiguous++;
              done(messages[contiguous - 1].offset);
            }
            await afterEach();
          } catch (error) {
            failure ??= { error };
            return;
          }
        }
      }),
    ),
  );
  if (failure) throw failure.error;
}
