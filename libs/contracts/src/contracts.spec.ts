import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { actionDigest, derivedEventId, jsonSchemas, ProposalSchema, schemaFor, TOPICS, TOPIC_SCHEMAS } from './index';

const fixtures = join(__dirname, '../fixtures');
const schemaDir = join(__dirname, '../json-schema');
const golden = readdirSync(fixtures)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({ topic: f.replace(/\.json$/, ''), event: JSON.parse(readFileSync(join(fixtures, f), 'utf8')) }));
const scenarios = readFileSync(join(fixtures, 'scenarios.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l).proposal);

describe('event contracts', () => {
  it('has a golden fixture for every registry topic', () => {
    expect(golden.map((g) => g.topic)).toEqual(expect.arrayContaining(Object.values(TOPICS)));
  });

  it.each(golden)('golden fixture $topic parses with its zod schema', ({ topic, event }) => {
    const result = schemaFor(topic)!.safeParse(event);
    expect(result.error?.issues).toBeUndefined();
    expect(event.type).toBe(topic);
  });

  it.each(golden)('golden fixture $topic validates against the committed JSON Schema (what other languages use)', ({ topic, event }) => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const validate = ajv.compile(JSON.parse(readFileSync(join(schemaDir, `${topic}.json`), 'utf8')));
    expect(validate(event) ? [] : validate.errors).toEqual([]);
  });

  it('the committed JSON Schema files are what the zod schemas generate (run npm run contracts:generate)', () => {
    for (const [topic, schema] of Object.entries(jsonSchemas())) {
      expect(JSON.parse(readFileSync(join(schemaDir, `${topic}.json`), 'utf8'))).toEqual(JSON.parse(JSON.stringify(schema)));
    }
  });

  it('the JSON Schema rejects what the zod schema rejects', () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const validate = ajv.compile(JSON.parse(readFileSync(join(schemaDir, `${TOPICS.proposalSubmitted}.json`), 'utf8')));
    const event = golden.find((g) => g.topic === TOPICS.proposalSubmitted)!.event;
    expect(validate({ ...event, data: { ...event.data, confidence: 1.5 } })).toBe(false);
    expect(validate({ ...event, subject: undefined })).toBe(false);
    expect(TOPIC_SCHEMAS[TOPICS.proposalSubmitted].safeParse({ ...event, data: { ...event.data, confidence: 1.5 } }).success).toBe(false);
  });

  it.each(scenarios.map((p, i) => ({ i, p })))('scenario proposal $i is a valid proposal', ({ p }) => {
    expect(ProposalSchema.safeParse(p).error?.issues).toBeUndefined();
  });

  it('derives the same event id from the same cause, and different ids from different causes or types', () => {
    expect(derivedEventId(TOPICS.policyDecided, 'e1')).toBe(derivedEventId(TOPICS.policyDecided, 'e1'));
    expect(derivedEventId(TOPICS.policyDecided, 'e1')).not.toBe(derivedEventId(TOPICS.policyDecided, 'e2'));
    expect(derivedEventId(TOPICS.policyDecided, 'e1')).not.toBe(derivedEventId(TOPICS.reviewDecided, 'e1'));
    expect(derivedEventId(TOPICS.policyDecided, 'e1')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('binds the action digest to what would be done: parameters, target, and the policy version', () => {
    const p = ProposalSchema.parse(scenarios[3]);
    const d = actionDigest(p, '2026.11.1');
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(actionDigest({ ...p, parameters: { ...p.parameters, amount: 481 } }, '2026.11.1')).not.toBe(d);
    expect(actionDigest({ ...p, target: 'order-79' }, '2026.11.1')).not.toBe(d);
    expect(actionDigest(p, '2026.11.2')).not.toBe(d);
    // Key order does not matter (RFC 8785 canonical JSON); confidence and context are not part of what is done.
    const reordered = JSON.parse(JSON.stringify({ parameters: p.parameters, target: p.target, actionType: p.actionType, proposer: p.proposer }));
    expect(actionDigest({ ...p, ...reordered, confidence: 0.1, context: { x: 1 } }, '2026.11.1')).toBe(d);
  });
});
