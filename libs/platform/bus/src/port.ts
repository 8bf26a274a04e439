import type { AnyTopic, EventData, TopicMap } from '@countersign/contracts';
import type { EmitOptions } from './envelope';

/** Where a delivered event came from, and how many times this handler has been given it. */
export interface DeliveryContext {
  topic: AnyTopic;
  partition: number;
  offset: string;
  key: string | null;
  /** 1 on first delivery, 2+ on redelivery after a handler failure. */
  attempt: number;
}

export type Handler<T extends AnyTopic> = (event: TopicMap[T], ctx: DeliveryContext) => Promise<void>;

/** Handlers by topic: the subscription's topics are its keys. */
export type HandlerMap = { [T in AnyTopic]?: Handler<T> };

export interface SubscribeOptions {
  /** Consumer group, named `<service>.<purpose>`: instances of one group share partitions. */
  group: string;
  handlers: HandlerMap;
  /**
   * How many events are handled at once, over all partitions: the events of one key (one action) always
   * one after the other, in order; different keys side by side, so a slow action does not hold up the
   * others of its partition. Raise it for a handler that batches (the audit writer): larger batches.
   */
  concurrency?: number;
  /**
   * For state every instance rebuilds from a topic's whole history (approved contract changes): the
   * subscription reads its topics from the beginning each time it starts and records no position. Its group
   * must be this instance's own. It is removed when the subscription closes, and a group left behind by a
   * crash holds no committed offsets, so the broker drops it once it is empty (Kafka keeps an empty group
   * only for its offsets): instances coming and going leave no groups behind.
   */
  replay?: boolean;
  /**
   * With `replay`: called once the subscription has handled every event its topics held when it started (at once
   * for empty topics). State rebuilt from a topic is current from then on, and an empty topic is known to be empty.
   */
  onCaughtUp?: () => void;
}

export interface Subscription {
  close(): Promise<void>;
}

/**
 * The event bus port. Two adapters implement it with the same semantics, proven by one shared suite:
 * per-key ordering, consumer groups sharing partitions, redelivery after a handler failure, and
 * poison messages (bad JSON, schema violation, oversized) sent to `<topic>.dlq` with a reason.
 */
export interface EventBus {
  /**
   * Builds the event's envelope (id, version, source, time, subject, correlation, causation: see
   * `EmitOptions`), validates it against its topic's schema and publishes it keyed by its subject; returns it.
   */
  emit<T extends AnyTopic>(topic: T, data: EventData<T>, options: EmitOptions): Promise<TopicMap[T]>;
  /** The envelope `emit` would publish, without publishing it: for a service that must store an event before it publishes it. */
  envelope<T extends AnyTopic>(topic: T, data: EventData<T>, options: EmitOptions): TopicMap[T];
  /** Validates an event built before (by `envelope`, or stored) against its topic's schema and publishes it again, keyed by `event.subject`. */
  publish<T extends AnyTopic>(topic: T, event: TopicMap[T]): Promise<void>;
  /** Publishes bytes as they are, without validation: for tools, replays and poison-message tests. */
  publishRaw(topic: string, key: string | null, value: Buffer | string): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** True when the bus can publish and consume (for /readyz); false, or a throw saying why, when not. */
  healthy(): Promise<boolean>;
  /**
   * Why the bus can take nothing more until the process restarts (the in-process broker's store failed, and a message it
   * could not store may not be delivered), or undefined: `/healthz` then fails, so that a supervisor restarts it.
   */
  broken?(): string | undefined;
  close(): Promise<void>;
}

/** How handler failures are retried before the message goes to the dead-letter topic. */
export interface RetryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/**
 * Events in flight per subscription when it does not say: enough to hide a handler's I/O round trips, and enough that
 * what the handlers publish travels in large sends (a handler holds its slot until Kafka took its events; ADR 0002).
 */
export const DEFAULT_CONCURRENCY = 128;

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 5_000 };

/** An event that cannot be published (schema violation, oversized): nothing was sent. */
export class PublishError extends Error {}

/**
 * Thrown by a handler for an event it refuses for good (an unauthenticated proposer, invalid parameters):
 * retrying cannot help, so the event goes to `<topic>.dlq` at once, with this message as the reason.
 */
export class RefusedEvent extends Error {}

/**
 * Thrown by a handler that cannot decide *now* because something it depends on is not there (a store is
 * down, flags are not loaded yet). Never final: the event is retried with backoff until the dependency is
 * back, and never dead-lettered. Errors of the clients themselves (connection refused, ioredis giving up, a
 * PostgreSQL connection lost) are recognised as the same (`isDependencyFailure`).
 */
export class DependencyUnavailableError extends Error {}

/**
 * A store found changed outside Countersign (the embedded audit file whose entry no longer matches its hash): nothing
 * more is read from or written to it until an operator restores it. Never the message's fault: a consumer retries, as in
 * an outage, and never dead-letters. But it does not pass by itself: a start fails at once instead of waiting for it
 * (`isDependencyFailure` is false), and an HTTP request is answered 503 with `publicMessage` (what a caller may be told:
 * no file path), without `Retry-After`, while the full message goes to the log.
 */
export class StoreDamagedError extends Error {
  constructor(
    message: string,
    readonly publicMessage: string,
  ) {
    super(message);
  }
}
