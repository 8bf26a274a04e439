import { DecisionSigner, SealableEvent, sealEvent, SigningUnavailableError } from '@countersign/approval';
import { DependencyUnavailableError, EventBus } from '@countersign/bus';
import { AnyTopic, EXECUTOR_OUTCOME_TOPICS, TopicMap } from '@countersign/contracts';

const OUTCOME_TOPICS: ReadonlySet<string> = new Set(EXECUTOR_OUTCOME_TOPICS);

/**
 * The executor's bus (docs/adr/0042): every event it publishes on an outcome topic (executed, failed, refused, held,
 * an outcome check) goes out sealed with the executor's outcome key, over its type, id, time, subject, actor and data.
 * The one place that seals, so no path can publish an outcome without it: the executing delivery, a redelivery, the
 * outbox's sweep and the reconciler all publish through here. Sealing happens at publish, not when the outcome is
 * recorded: an Ed25519 signature is deterministic, so the same event sealed again by the same key carries the same
 * seal, and a resend is the same bytes. Other topics pass through unchanged.
 *
 * Without a key valid at the event's time nothing is published, and the handler or the outbox tries again
 * (`DependencyUnavailableError`: a transient doubt, never a dead letter). The outcome stays on the record meanwhile.
 */
export function sealingOutcomeBus(bus: EventBus, signer: DecisionSigner): EventBus {
  const sealed = <T extends AnyTopic>(topic: T, event: TopicMap[T]): TopicMap[T] => {
    if (!OUTCOME_TOPICS.has(topic)) return event;
    try {
      const seal = sealEvent(signer, event as unknown as SealableEvent, 'outcome-signing');
      return { ...event, data: { ...(event.data as object), seal } } as TopicMap[T];
    } catch (err) {
      if (err instanceof SigningUnavailableError) throw new DependencyUnavailableError(`outcomes cannot be sealed now: ${err.message}`);
      throw err;
    }
  };
  return {
    async emit(topic, data, options) {
      const event = sealed(topic, bus.envelope(topic, data, options));
      await bus.publish(topic, event);
      return event;
    },
    envelope: (topic, data, options) => bus.envelope(topic, data, options),
    publish: (topic, event) => bus.publish(topic, sealed(topic, event)),
    // Bytes as they are, unvalidated: a tool's or test's path, never an outcome's (nothing in the executor uses it).
    publishRaw: (topic, key, value) => {
      if (OUTCOME_TOPICS.has(topic)) return Promise.reject(new Error(`the executor publishes ${topic} sealed, never as raw bytes`));
      return bus.publishRaw(topic, key, value);
    },
    subscribe: (options) => bus.subscribe(options),
    healthy: () => bus.healthy(),
    close: () => bus.close(),
  };
}
