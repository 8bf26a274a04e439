import { Actor, AnyTopic, derivedEventId, Envelope, EventData, newId, TopicMap, versionOf } from '@countersign/contracts';

/** The event an emitted one follows from. */
export type EventCause = Pick<Envelope, 'id' | 'subject' | 'correlationId'>;

/**
 * How an event is placed in its chain. Either it follows from a `cause` (same subject and correlation id,
 * `causationId` = the cause, and an id derived from the cause, so handling the cause twice emits the same
 * event, which every consumer drops), or it starts a chain on `subject` (an action id, or `request:…`),
 * with a fresh id unless a deterministic one is given.
 */
export type EmitOptions = { actor?: Actor; time?: Date } & (
  | {
      cause: EventCause;
      discriminator?: string;
      /**
       * The subject when it is not the cause's: what the event is keyed by on its topic (its partition and compaction).
       * A control event is keyed by its flag whatever caused it, so one flag's events stay in order on replay.
       */
      subject?: string;
    }
  | { subject: string; correlationId?: string; id?: string }
);

/** The running service, as the actor of what it emits on its own behalf. */
export const serviceActor = (source: string): Actor => ({ id: source, kind: 'service', authMethod: 'service' });

/**
 * Builds an envelope: id, type, version (from the registry), source (the running service), time, subject,
 * correlation and causation. The only place envelopes are made; services call `bus.emit`.
 */
export function buildEnvelope<T extends AnyTopic>(topic: T, data: EventData<T>, source: string, options: EmitOptions): TopicMap[T] {
  const common = {
    type: topic,
    version: versionOf(topic),
    source,
    time: (options.time ?? new Date()).toISOString(),
    actor: options.actor ?? serviceActor(source),
    data,
  };
  if ('cause' in options) {
    const { cause } = options;
    return {
      ...common,
      id: derivedEventId(topic, cause.id, options.discriminator),
      subject: options.subject ?? cause.subject,
      correlationId: cause.correlationId,
      causationId: cause.id,
    } as unknown as TopicMap[T];
  }
  return {
    ...common,
    id: options.id ?? newId(),
    subject: options.subject,
    correlationId: options.correlationId ?? options.subject,
    causationId: null,
  } as unknown as TopicMap[T];
}
