import { DecisionSigner, SealableEvent, sealEvent, verifyEventSeal, VerifyKeys } from '@countersign/approval';
import type { AnyTopic, EventData, TOPICS, TopicMap } from '@countersign/contracts';
import type { EmitOptions, EventBus } from '@countersign/bus';

/** The control topics whose events are sealed by the review queue (docs/adr/0039). */
export type ControlFactTopic = typeof TOPICS.trustHealthChanged | typeof TOPICS.degradationModeChanged | typeof TOPICS.degradationOverrideSet;

/**
 * Emits a control fact sealed with the review queue's review-decision key: the envelope is built, sealed (the seal
 * names its type, id, time, subject, actor and data) and published as `bus.emit` would. Without a key valid at its
 * time nothing is published (`SigningUnavailableError`).
 */
export async function emitControlFact<T extends ControlFactTopic>(
  bus: EventBus,
  signer: DecisionSigner,
  topic: T,
  data: EventData<T>,
  options: EmitOptions,
): Promise<TopicMap[T]> {
  return emitSealed(bus, signer, topic, data, options, 'review-decision');
}

/**
 * Emits `topic`'s event sealed with `signer` (docs/adr/0040): built, sealed over everything it says, and published as
 * `bus.emit` would; `SigningUnavailableError` (nothing published) without a key valid at its time.
 */
export async function emitSealed<T extends AnyTopic>(
  bus: EventBus,
  signer: DecisionSigner,
  topic: T,
  data: EventData<T>,
  options: EmitOptions,
  keyName: string,
): Promise<TopicMap[T]> {
  const event = bus.envelope(topic, data, options);
  const sealed = { ...event, data: { ...(event.data as object), seal: sealEvent(signer, event as unknown as SealableEvent, keyName) } } as TopicMap[T];
  await bus.publish(topic, sealed);
  return sealed;
}

/**
 * Why a follower must not apply `event`, or undefined when its seal verifies against `keys` (the review queue's verify
 * keys, `APPROVAL_VERIFY_KEYS_FILE`; none configured: nothing applies).
 */
export function refusedControlFact(event: TopicMap[ControlFactTopic], keys: VerifyKeys | undefined): string | undefined {
  const check = verifyEventSeal(event, keys);
  return check.ok ? undefined : check.reason;
}
