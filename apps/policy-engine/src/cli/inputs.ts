import { closeSync, openSync, readSync } from 'node:fs';
import { z } from 'zod';
import { describeIssues, LaneSchema, MAX_PROPOSAL_BYTES, parseKnownFields, parseStrictJson, ProposalSchema, proposalSizeRefusal } from '@countersign/contracts';
import type { AutonomyLevel, DecisionInputs, DegradationMode, FlagInput, ProposalInput } from '@countersign/policy';
import { ContractError, parsePlainYaml, readPolicyFile } from '@countersign/policy';
import { reading } from '@countersign/config';

// A value the types gain and these lists lack is refused here: the safe way round.
const FLAG = ['on', 'off', 'unknown'] as const satisfies readonly FlagInput[];
const DEGRADATION = ['normal', 'elevated', 'constrained', 'halted', 'unknown'] as const satisfies readonly DegradationMode[];
const AUTONOMY = ['off', 'review-all', 'review-risky', 'autonomous', 'unknown'] as const satisfies readonly AutonomyLevel[];

const oneOf = <const T extends readonly [string, ...string[]]>(all: T) =>
  z.enum(all, { error: (issue) => `must be one of ${all.join(', ')} (got ${JSON.stringify(issue.input)})` });

const count = z.number().int().nonnegative();
const windowStats = z.strictObject({ count, confidenceSum: z.number().nonnegative(), autonomous: count, seconds: z.number().positive() });

const INPUT_SHAPE = {
  killSwitch: oneOf(FLAG),
  degradationMode: oneOf(DEGRADATION),
  trustStackHealthy: z.union([z.boolean(), z.literal('unknown')], { error: 'must be true, false or unknown' }),
  autonomy: oneOf(AUTONOMY),
  rateLimited: z.array(z.string()),
  aggregateLimited: z.array(z.string()),
  agentStats: z.record(z.string(), z.strictObject({ short: windowStats, baseline: windowStats })),
  now: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time such as 2026-11-24T10:00:00Z' }),
  actionId: z.string(),
};
const INPUT_KEYS = Object.keys(INPUT_SHAPE).join(', ');

/**
 * The decision inputs a person gives the CLI (`explain --inputs`, a test table's `inputs`), read strictly. `evaluate`
 * takes any value the services read from their flags and fails closed on the ones it knows to be doubtful (`unknown`);
 * a value it does not know at all (`review-al`, `Halted`) is treated as the most permissive one. From a flag service
 * that is a bug to fix there; typed by a person it is a typo, and the explanation would show a lane that no running
 * service would decide. So a key or a value the inputs do not have is refused, naming the ones they do.
 *
 * Every key is optional (the rest stay at rest); `now` is an ISO 8601 time.
 */
export const GivenInputsSchema = z
  .strictObject(INPUT_SHAPE, {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `unknown input${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')} (the inputs are ${INPUT_KEYS})`
        : `the inputs must be an object with any of ${INPUT_KEYS}`,
  })
  .partial();
export type GivenInputs = z.infer<typeof GivenInputsSchema>;

/** The inputs given, over `atRest` (what the contract alone decides); `now` from them when they say. */
export function decisionInputs(given: GivenInputs | undefined, atRest: DecisionInputs): DecisionInputs {
  const { now, ...rest } = given ?? {};
  return { ...atRest, ...rest, now: now ? new Date(now) : atRest.now };
}

/** `--inputs`: a JSON object read as strictly as a request body (no duplicate key); throws with one line saying why not. */
export function parseInputsArg(arg: string): GivenInputs {
  const json = parseStrictJson(arg);
  if (!json.ok) throw new Error(`--inputs: not JSON: ${json.message}`);
  const result = GivenInputsSchema.safeParse(json.value);
  if (!result.success)
    throw new Error(`--inputs: ${result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')}`);
  return result.data;
}

/**
 * A proposal file for `explain`, read the way the orchestrator reads `POST /v1/proposals`: the strict JSON parser
 * (valid UTF-8, no duplicate key, no `__proto__`), the proposal schema with no field it does not know, the size limit.
 * What the server refuses is refused here too: an explanation of a proposal that can never arrive would mislead.
 */
export function readProposalFile(path: string): ProposalInput {
  const bytes = reading(path, () => readAtMost(path, MAX_PROPOSAL_BYTES));
  if (bytes.length > MAX_PROPOSAL_BYTES)
    throw new Error(`${path}: not a proposal the orchestrator would accept: more than ${MAX_PROPOSAL_BYTES} bytes, the most a proposal may hold`);
  const json = parseStrictJson(bytes, { maxBytes: MAX_PROPOSAL_BYTES });
  if (!json.ok) throw new Error(`${path}: not a proposal the orchestrator would accept: ${json.message}`);
  const result = parseKnownFields(ProposalSchema, json.value);
  if (!result.success) throw new Error(`${path}: not a proposal the orchestrator would accept: ${describeIssues(result.error)}`);
  const tooLarge = proposalSizeRefusal(result.data);
  if (tooLarge) throw new Error(`${path}: not a proposal the orchestrator would accept: ${tooLarge}`);
  return result.data;
}

/**
 * The first `limit` + 1 bytes of a file at most: one more than a proposal may hold says it is too large. Never the
 * whole file: `readFileSync('/dev/zero')` reads until memory runs out, as `policy lint` did (red team, 2026-12-04).
 */
function readAtMost(path: string, limit: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const bytes = Buffer.alloc(limit + 1);
    let total = 0;
    while (total < bytes.length) {
      const read = readSync(fd, bytes, total, bytes.length - total, null);
      if (read === 0) break;
      total += read;
    }
    return bytes.subarray(0, total);
  } finally {
    closeSync(fd);
  }
}

const TestCaseSchema = z.strictObject({
  name: z.string().min(1),
  // Not the proposal schema: a table may show that a malformed proposal fails closed.
  proposal: z.record(z.string(), z.unknown(), { error: 'proposal must be an object' }),
  inputs: GivenInputsSchema.optional(),
  expect: LaneSchema,
  why: z.string().optional(),
});
const TestTableSchema = z.strictObject({
  cases: z.array(TestCaseSchema, { error: 'cases must be a list' }).min(1, 'the table has no cases: a table that checks nothing passes nothing'),
});
export type TestCase = z.infer<typeof TestCaseSchema>;

/**
 * A test table (`policy test`): the YAML the contract is written in, read by the contract's own parser (no tags, no
 * duplicate keys, bounded aliases), then its shape: at least one case, each with a name, a proposal, an expected lane
 * and inputs as strict as `--inputs`. Throws a `ContractError` naming the file, the line and the case.
 */
export function readTestTable(path: string): TestCase[] {
  const { value, lineAt } = parsePlainYaml(
    reading(path, () => readPolicyFile(path)),
    path,
  );
  const result = TestTableSchema.safeParse(value);
  if (result.success) return result.data.cases;
  const issue = result.error.issues[0];
  const [, index, ...rest] = issue.path;
  const name = typeof index === 'number' ? (value as { cases: { name?: unknown }[] }).cases[index]?.name : undefined;
  const where =
    typeof index === 'number'
      ? `cases[${index}]${typeof name === 'string' ? ` (${name})` : ''}${rest.length ? `.${rest.join('.')}` : ''}`
      : issue.path.join('.') || '(table)';
  throw new ContractError(path, lineAt(issue.path), where, issue.message);
}
