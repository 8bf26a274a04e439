import { entryJson } from '@countersign/audit-chain';
import type { AuditEntry } from '@countersign/audit-chain';
import { buildEnvelope, EmitOptions, serviceActor } from '@countersign/bus';
import { canonicalDigest, derivedEventId, EventData, TOPIC_SCHEMAS, TOPICS, TopicMap } from '@countersign/contracts';
import { toAuditEntry } from '../ingest/audit-entry';

/**
 * The entries the audit writer appends about its own log (`AUDIT_LOG_OWN_TOPICS`): a recovery found at load, a clean
 * stop, the start after one. Never published; built as any event is (the bus's `envelope`) and turned into an entry as
 * the consumer turns events into entries, so that the next signed head covers them like any other entry.
 */
export type WriterTopic = typeof TOPICS.logRecovered | typeof TOPICS.logStopped | typeof TOPICS.logResumed;

/** The subject and correlation id of what concerns the log as a whole (its tree heads too). */
export const AUDIT_LOG_SUBJECT = 'audit-log';

/**
 * How the writer places one of its events: keyed by the log, by the audit writer itself, with an id derived from what it
 * records, so that the same finding appended again (a retried load, another instance's load) is one entry.
 */
export function writerEventOptions<T extends WriterTopic>(topic: T, data: EventData<T>, time: Date): EmitOptions {
  return {
    subject: AUDIT_LOG_SUBJECT,
    correlationId: AUDIT_LOG_SUBJECT,
    id: derivedEventId(topic, AUDIT_LOG_SUBJECT, canonicalDigest(data)),
    actor: serviceActor('audit-writer'),
    time,
  };
}

/** The entry of one of the writer's events, checked against its topic's schema first (as a publish would). */
export function writerEntry<T extends WriterTopic>(topic: T, event: TopicMap[T]): AuditEntry {
  TOPIC_SCHEMAS[topic].parse(event);
  return toAuditEntry(topic, event);
}

/** A logged entry's object: as it is, or parsed from its hashed bytes. */
export const entryObjectOf = (e: { entry?: unknown; bytes?: string }): { eventType?: unknown; data?: unknown } | undefined =>
  (e.entry ?? (e.bytes !== undefined ? JSON.parse(e.bytes) : undefined)) as { eventType?: unknown; data?: unknown } | undefined;

/** The entry type of a logged entry, read from its object or from its hashed bytes. */
export const eventTypeOf = (e: { entry?: unknown; bytes?: string }): unknown => entryObjectOf(e)?.eventType;

/**
 * Whether `entry` is, byte for byte but for its times, the writer's own `audit.log.resumed.v1` after the clean stop at
 * `stoppedAt`: the one entry a store may find past a head that ends in a clean stop (the writer was cut off before it
 * could sign it). Anything else there, including a resumption carrying other fields, was written by someone else.
 */
export function isResumptionOf(entry: AuditEntry, stoppedAt: number): boolean {
  const time = new Date(typeof entry.time === 'string' ? entry.time : NaN);
  if (Number.isNaN(time.getTime()) || time.toISOString() !== entry.time) return false;
  const data = { stoppedAt };
  const own = writerEntry(TOPICS.logResumed, buildEnvelope(TOPICS.logResumed, data, 'audit-writer', writerEventOptions(TOPICS.logResumed, data, time)));
  return entryJson({ ...own, _index: entry._index, _recordedAt: entry._recordedAt }) === entryJson(entry);
}
