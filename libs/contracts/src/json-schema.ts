import { z } from 'zod';
import { EXTERNALLY_WRITTEN_TOPICS } from './topic-access';
import { ALL_TOPICS, schemaFor, Topic } from './topics';

/**
 * JSON Schema (draft 2020-12) for every topic's envelope, generated from the zod schemas, so a producer
 * in any language can check what it publishes. Committed under libs/contracts/json-schema/ and kept in
 * step by a test.
 */
export function jsonSchemas(): Record<string, unknown> {
  return Object.fromEntries(
    ALL_TOPICS.map((topic) => [
      topic,
      {
        $id: `https://countersign.dev/schemas/${topic}.json`,
        title: topic,
        // What agents write is read strictly (parseKnownFields): its schema says that a field it does not name is refused.
        ...(EXTERNALLY_WRITTEN_TOPICS.has(topic as Topic) ? closeObjects : (s: Record<string, unknown>) => s)(
          z.toJSONSchema(schemaFor(topic)!, { io: 'input' }) as Record<string, unknown>,
        ),
      },
    ]),
  );
}

/**
 * A JSON Schema in which every object that names its fields refuses any other (`additionalProperties: false`), as
 * `parseKnownFields` does; an object that says what else it takes (a free JSON object: `additionalProperties: {}`) keeps it.
 * Returns a copy.
 */
export function closeObjects<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(closeObjects) as T;
  if (!schema || typeof schema !== 'object') return schema;
  const copy = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, closeObjects(v)])) as Record<string, unknown>;
  if (copy.type === 'object' && copy.properties && copy.additionalProperties === undefined) copy.additionalProperties = false;
  return copy as T;
}
