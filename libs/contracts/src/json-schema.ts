import { z } from 'zod';
import { ALL_TOPICS, schemaFor } from './topics';

/**
 * JSON Schema (draft 2020-12) for every topic's envelope, generated from the zod schemas, so a producer
 * in any language can check what it publishes. Committed under libs/contracts/json-schema/ and kept in
 * step by a test.
 */
export function jsonSchemas(): Record<string, unknown> {
  return Object.fromEntries(
    ALL_TOPICS.map((topic) => [
      topic,
      { $id: `https://countersign.dev/schemas/${topic}.json`, title: topic, ...z.toJSONSchema(schemaFor(topic)!, { io: 'input' }) },
    ]),
  );
}
