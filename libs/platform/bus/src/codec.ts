import {
  AnyTopic,
  describeIssues,
  EXTERNALLY_WRITTEN_TOPICS,
  isIdentifier,
  MAX_EVENT_BYTES,
  parseKnownFields,
  parseStrictJson,
  schemaFor,
  Topic,
  TopicMap,
} from '@countersign/contracts';
import { PublishError } from './port';

export type Decoded = { ok: true; event: TopicMap[AnyTopic] } | { ok: false; reason: string; partial?: { correlationId?: string } };

/** Serialises an event for the wire after checking it against its topic's schema and the size limit. */
export function encode<T extends AnyTopic>(topic: T, event: TopicMap[T], maxBytes = MAX_EVENT_BYTES): Buffer {
  const schema = schemaFor(topic);
  if (!schema) throw new PublishError(`unknown topic ${topic}`);
  const parsed = schema.safeParse(event);
  if (!parsed.success) throw new PublishError(`event for ${topic} violates its schema: ${describeIssues(parsed.error)}`);
  const bytes = Buffer.from(JSON.stringify(parsed.data));
  if (bytes.length > maxBytes) throw new PublishError(`event for ${topic} is ${bytes.length} bytes, over the ${maxBytes}-byte limit`);
  return bytes;
}

/**
 * Turns wire bytes back into a validated event, or says precisely why it cannot: the reason goes to the
 * dead-letter topic. The bytes are read by the strict parser every ingress shares (valid UTF-8, no
 * duplicate keys, nesting and size limits: libs/contracts `parseStrictJson`).
 */
export function decode(topic: string, key: string | null, value: Buffer | null, maxBytes = MAX_EVENT_BYTES): Decoded {
  if (value === null || value.length === 0) return { ok: false, reason: 'empty message' };
  if (value.length > maxBytes) return { ok: false, reason: `oversized: ${value.length} bytes, over the ${maxBytes}-byte limit` };
  const json = parseStrictJson(value, { maxBytes });
  if (!json.ok) return { ok: false, reason: `malformed JSON: ${json.message}` };
  // Only a well-formed correlation id is carried on to the dead letter (whose own schema would refuse another).
  const claimed = (json.value as { correlationId?: unknown } | null)?.correlationId;
  const correlationId = isIdentifier(claimed) ? claimed : undefined;
  const schema = schemaFor(topic);
  if (!schema) return { ok: false, reason: `no schema for topic ${topic}`, partial: { correlationId } };
  // What agents write is read strictly: a field the schema does not know is refused, not dropped (parseKnownFields).
  const parsed = EXTERNALLY_WRITTEN_TOPICS.has(topic as Topic) ? parseKnownFields(schema, json.value) : schema.safeParse(json.value);
  if (!parsed.success) return { ok: false, reason: `schema violation: ${describeIssues(parsed.error)}`, partial: { correlationId } };
  const event = parsed.data as TopicMap[AnyTopic];
  if (key !== null && key !== event.subject) {
    return { ok: false, reason: `key ${JSON.stringify(key)} does not match subject ${JSON.stringify(event.subject)}`, partial: { correlationId } };
  }
  return { ok: true, event };
}
