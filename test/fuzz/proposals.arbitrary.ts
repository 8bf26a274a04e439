import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';

/** The example proposals every case starts from: valid, one of each lane. */
export const SCENARIOS: Record<string, unknown>[] = readFileSync(join(__dirname, '../../libs/contracts/fixtures/scenarios.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l).proposal);

const DELETE = Symbol('delete');

/** Values that broke parsers, scorers and connectors before, beside arbitrary JSON. */
const nasty = fc.constantFrom<unknown>(
  '75',
  ' 75 ',
  'NaN',
  'Infinity',
  '-5000',
  '',
  '\u0000\u0000\u0000',
  'ticket-1\u0000',
  'a\u202e\u0007b',
  -5000,
  -0.01,
  0,
  1e308,
  Number.MAX_SAFE_INTEGER + 2,
  [],
  {},
  null,
  true,
  false,
  'x'.repeat(1000),
  '4111 1111 1111 1111',
  '4111.1111.1111.1111',
  4111111111111111,
  'de89 3704 0044 0532 0130 00',
  'someone@example.com',
  'legal.statement',
  'XXX',
  'KWD',
  'JPY',
  '__proto__',
  'countersign.audit_log',
);

const anyValue = fc.oneof(
  { weight: 2, arbitrary: nasty },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40, unit: 'binary' }) },
);

const paths = fc.oneof(
  fc.constantFrom(
    ['actionType'],
    ['target'],
    ['parameters'],
    ['proposer'],
    ['proposer', 'agentId'],
    ['proposer', 'model'],
    ['proposer', 'model', 'name'],
    ['proposer', 'promptTemplateVersion'],
    ['confidence'],
    ['tenant'],
    ['region'],
    ['context'],
    ['scopedToken'],
  ),
  fc.tuple(
    fc.constant('parameters'),
    fc.oneof(
      fc.constantFrom('amount', 'currency', 'body', 'fields', 'destination', 'recipients', 'card', 'reason', 'customerId', 'email'),
      fc.string({ maxLength: 8 }),
    ),
  ),
  fc.tuple(fc.constant('context'), fc.oneof(fc.constantFrom('containsCommitment'), fc.string({ maxLength: 8 }))),
);

const mutation = fc.record({
  path: paths.map((p) => [...p]),
  value: fc.oneof({ weight: 5, arbitrary: anyValue }, { weight: 1, arbitrary: fc.constant<unknown>(DELETE) }),
});

/** Sets (or deletes) a path as an own property, so `__proto__` stays data, as JSON.parse would make it. */
function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node: Record<string, unknown> = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next))
      Object.defineProperty(node, key, { value: {}, enumerable: true, writable: true, configurable: true });
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (value === DELETE) delete node[last];
  else Object.defineProperty(node, last, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A scenario proposal with zero to three fields replaced by arbitrary JSON, nasty values, or removed;
 * proposed as `agentId` when given (the agent a caller's token may act as), else as the scenario says.
 */
export const mutatedProposal = (agentId?: string): fc.Arbitrary<Record<string, unknown>> =>
  fc.record({ base: fc.integer({ min: 0, max: SCENARIOS.length - 1 }), mutations: fc.array(mutation, { maxLength: 3 }) }).map(({ base, mutations }) => {
    const p = structuredClone(SCENARIOS[base]);
    if (agentId) (p.proposer as Record<string, unknown>).agentId = agentId;
    // Each value copied: a constant (`nasty`) is one object for every draw, and setting a path inside it changed it for
    // good, or made it contain itself (a proposal JSON cannot encode: the fuzz suite failed on a generator cycle).
    for (const m of mutations) setPath(p, m.path, m.value === DELETE ? DELETE : structuredClone(m.value));
    return p;
  });

/** Request bodies as bytes: mutated proposals, any JSON, text, bytes, duplicate keys, deep nesting. */
export const requestBody = (agentId?: string): fc.Arbitrary<{ kind: string; body: Buffer }> =>
  fc.oneof(
    { weight: 8, arbitrary: mutatedProposal(agentId).map((p) => ({ kind: 'mutated', body: Buffer.from(JSON.stringify(p)) })) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ kind: 'json', body: Buffer.from(JSON.stringify(v) ?? 'null') })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => ({ kind: 'bytes', body: Buffer.from(b) })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: SCENARIOS.length - 1 }), fc.constantFrom('actionType', 'target', 'parameters', 'proposer'))
        .map(([i, key]) => {
          // The same key twice: a lenient parser keeps the last one.
          const json = JSON.stringify(SCENARIOS[i]);
          return { kind: 'duplicate-key', body: Buffer.from(`{"${key}":${JSON.stringify(key === 'actionType' ? 'legal.statement' : 'x')},${json.slice(1)}`) };
        }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: SCENARIOS.length - 1 }), fc.integer({ min: 20, max: 20_000 }), fc.constantFrom('parameters', 'context'))
        .map(([i, depth, field]) => {
          const p = structuredClone(SCENARIOS[i]);
          const json = JSON.stringify({ ...p, [field]: { deep: '__DEEP__' } });
          return { kind: 'deep', body: Buffer.from(json.replace('"__DEEP__"', `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`)) };
        }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.integer({ min: 0, max: SCENARIOS.length - 1 }),
          fc.constantFrom(Buffer.from([0xff]), Buffer.from([0xc3, 0x28]), Buffer.from([0xed, 0xa0, 0x80])),
        )
        .map(([i, bad]) => {
          // Invalid UTF-8 inside the target: a lenient decoder replaces it and the altered target runs.
          const json = JSON.stringify({ ...SCENARIOS[i], target: '__BAD__' });
          const [before, after] = json.split('__BAD__');
          return { kind: 'invalid-utf8', body: Buffer.concat([Buffer.from(`${before}t-`), bad, Buffer.from(after)]) };
        }),
    },
  );
