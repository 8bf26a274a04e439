import canonicalize from 'canonicalize';
import { canonicalDigest, MAX_JSON_DEPTH, parseStrictJson, StrictJsonProblem, TOPICS } from '@countersign/contracts';
import type { Progress } from '@countersign/logging';
import { controlChanges, fieldsOf } from '@countersign/policy';
import { LoadedContract, loadContractFile, readPolicyFile } from '@countersign/policy';
import { declaredPaths } from '@countersign/policy';
import { compileContract, CompiledContract, Decision, DecisionInputs, evaluate, maskedInputs, ProposalInput } from '@countersign/policy';
import { z } from 'zod';
import { reading } from '@countersign/config';
import { decisionInputs, readTestTable } from './inputs';

/** Where commands write: results to `out`, progress to `err`. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

/**
 * The time `diff`, `replay` and `test` decide at when a row gives none: fixed, so the same corpus and contracts always
 * give the same report (the current time would make a rule on `time.hour` fire on one run and not the next).
 */
export const FIXED_DECISION_TIME = new Date('2026-11-24T10:00:00Z');

/** Every input at rest: what the contract alone decides. */
export const AT_REST = (now = new Date()): DecisionInputs => ({
  killSwitch: 'on',
  degradationMode: 'normal',
  trustStackHealthy: true,
  autonomy: 'autonomous',
  now,
});

export interface LintFinding {
  level: 'error' | 'warning';
  where: string;
  message: string;
}

/**
 * Semantic checks beyond the schema: rules that can never change a decision (unreachable), rules with the
 * same condition on the same action type but different lanes (overlapping), action types without an owner,
 * a prohibition of everything, and conditions or limits naming a `parameters.X` that the action types' parameter
 * schemas do not declare.
 */
export function lint(contract: LoadedContract): LintFinding[] {
  const findings: LintFinding[] = [];
  const strict = { autonomous: 0, review: 1, prohibited: 2 } as const;
  for (const [type, a] of Object.entries(contract.actions)) {
    if (!a.owner) findings.push({ level: 'error', where: `actions.${type}`, message: 'no owner: every action type needs a team that answers for it' });
  }
  findings.push(...undeclaredParameters(contract));
  (contract.rules ?? []).forEach((r, i) => {
    const types = r.actionTypes.filter((t) => contract.actions[t]);
    if (types.length && types.every((t) => strict[contract.actions[t].lane] >= strict[r.lane]) && !(r.lane === 'review' && r.review)) {
      findings.push({
        level: 'warning',
        where: `rules[${i}] (${r.id})`,
        message: `unreachable: every action it covers is already ${r.lane} or stricter by default`,
      });
    }
    (contract.rules ?? []).forEach((o, j) => {
      if (j <= i || o.lane === r.lane) return;
      const shared = r.actionTypes.filter((t) => o.actionTypes.includes(t));
      if (shared.length && canonicalize(r.when) === canonicalize(o.when)) {
        findings.push({
          level: 'error',
          where: `rules[${i}] (${r.id}) and rules[${j}] (${o.id})`,
          message: `the same condition on ${shared.join(', ')} gives different lanes (${r.lane}, ${o.lane})`,
        });
      }
    });
  });
  // Legal, and fail closed, but most likely a half-written entry: with neither it stops every action Countersign sees
  // (config probe, 2026-12-05: lint said nothing). A stop of everything is the kill switches' or the halted mode's work.
  (contract.prohibited ?? []).forEach((r, i) => {
    if (!r.actionTypes && !r.when)
      findings.push({
        level: 'warning',
        where: `prohibited[${i}] (${r.id})`,
        message: 'neither actionTypes nor when: it prohibits every action of every type',
      });
  });
  (contract.anomalies ?? []).forEach((r, i) => {
    const types = (r.actionTypes ?? Object.keys(contract.actions)).filter((t) => contract.actions[t]);
    if (types.length && types.every((t) => strict[contract.actions[t].lane] >= strict[r.onDetect]))
      findings.push({
        level: 'warning',
        where: `anomalies[${i}] (${r.id})`,
        message: `unreachable: every action it covers is already ${r.onDetect} or stricter by default`,
      });
  });
  return findings;
}

/**
 * A condition or limit on `parameters.X` must name a parameter the schemas declare: every covered action
 * type's schema for a rule scoped to types; at least one for a global one (else it is a typo that never fires).
 */
function undeclaredParameters(contract: LoadedContract): LintFinding[] {
  const findings: LintFinding[] = [];
  const declared = new Map(Object.entries(contract.actions).map(([t, a]) => [t, declaredPaths(a.parameters)]));
  const check = (where: string, fields: string[], actionTypes: string[] | undefined) => {
    for (const f of new Set(fields.filter((x) => x === 'parameters' || x.startsWith('parameters.')))) {
      if (f === 'parameters') continue;
      const types = actionTypes ?? [...declared.keys()];
      const lacking = types.filter((t) => declared.has(t) && !declared.get(t)!.has(f));
      if (actionTypes ? lacking.length > 0 : lacking.length === types.length) {
        findings.push({
          level: 'error',
          where,
          message: actionTypes
            ? `names ${f}, which the parameter schema of ${lacking.join(', ')} does not declare`
            : `names ${f}, which no action type's parameter schema declares`,
        });
      }
    }
  };
  (contract.scoring ?? []).forEach((s, i) => check(`scoring[${i}] (${s.id})`, fieldsOf(s.when), s.actionTypes));
  (contract.rules ?? []).forEach((r, i) => check(`rules[${i}] (${r.id})`, fieldsOf(r.when), r.actionTypes));
  (contract.prohibited ?? []).forEach((r, i) => check(`prohibited[${i}] (${r.id})`, fieldsOf(r.when), r.actionTypes));
  (contract.aggregateLimits ?? []).forEach((l, i) => check(`aggregateLimits[${i}] (${l.id})`, [l.per, ...(l.amount ? [l.amount] : [])], l.actionTypes));
  return findings;
}

/**
 * Runs a YAML test table (`readTestTable`: at least one case, inputs read strictly) of proposals and expected lanes
 * against a contract.
 */
export function runTable(compiled: CompiledContract, tablePath: string, io: Io): { passed: number; failed: number } {
  const cases = readTestTable(tablePath);
  let passed = 0;
  let failed = 0;
  for (const c of cases) {
    const inputs = decisionInputs(c.inputs, AT_REST(FIXED_DECISION_TIME));
    const d = evaluate(compiled, c.proposal as unknown as ProposalInput, inputs);
    if (d.lane === c.expect) {
      passed++;
      io.out(`  ok    ${c.name} → ${d.lane}`);
    } else {
      failed++;
      io.out(`  FAIL  ${c.name}: expected ${c.expect}, got ${d.lane} (${d.rulesFired.join(', ')}: ${d.reasons[0]})`);
    }
  }
  io.out(`policy: ${passed} passed, ${failed} failed`);
  return { passed, failed };
}

/** The decision path of one proposal, for a person. */
export function explain(compiled: CompiledContract, p: ProposalInput, inputs: DecisionInputs): string[] {
  const d = evaluate(compiled, p, inputs);
  return [
    `lane: ${d.lane} (decided by ${d.decidedBy}; contract ${d.contractVersion}, ${d.contractHash})`,
    `score: ${d.score}, risk: ${d.riskClass}${d.retryLater ? ', retry later' : ''}${d.sampledForAudit ? ', sampled for audit review' : ''}`,
    `rules fired: ${d.rulesFired.join(', ') || '(none)'}`,
    ...d.reasons.map((r) => `  - ${r}`),
    ...(d.review
      ? [
          `review: SLA ${d.review.slaClass} (${d.review.slaSeconds} s), roles ${d.review.requiredRoles.join('/')}, quorum ${d.review.quorum}, when unavailable ${JSON.stringify(d.review.whenUnavailable)}`,
        ]
      : []),
    `inputs (masked): ${JSON.stringify(maskedInputs(compiled, p))}`,
  ];
}

/**
 * When each proposal of a corpus was made, for the rows that record it: an audit entry of a proposal
 * (`orchestrator.action.proposed.v1`) carries its event's `time`, and the policy engine decided it at that time. Kept
 * beside the proposal, not in it, so that `readCorpus` yields proposals as change control reads them.
 */
const proposedAt = new WeakMap<ProposalInput, Date>();

/** The time the proposal was made, if its corpus row recorded it (`readCorpus`); otherwise undefined. */
export const recordedTimeOf = (p: ProposalInput): Date | undefined => proposedAt.get(p);

/** The time a proposal was decided at in `diff` and `replay`: its own if the corpus recorded it, else the fixed one. */
const decisionTimeOf = (p: ProposalInput): Date => recordedTimeOf(p) ?? FIXED_DECISION_TIME;

/** An event's time as the envelope writes it (ISO 8601 with an offset); the engine decides at `new Date(time)`. */
const EventTime = z.iso.datetime({ offset: true });

/** What a corpus holds, for the message when it holds no proposal. */
const CORPUS_FORMS = 'scenario rows {"proposal": …}, bare proposals, or the entries of an exported audit segment (countersign audit export)';

/** How many levels an exported audit entry wraps its proposal in (`{kind, entry: {data: {proposal}}}`), with room to spare. */
const CORPUS_WRAPPING_DEPTH = 8;

/** What a corpus line that is not strict JSON is said to be, by the reader's problem (never the line itself). */
const CORPUS_LINE_PROBLEMS: Record<StrictJsonProblem, string> = {
  syntax: 'not a JSON line',
  'duplicate-key': 'a key given twice in one object (read strictly, as the orchestrator reads a proposal)',
  'forbidden-key': 'a key no proposal may have (__proto__)',
  'too-deep': 'nested deeper than a proposal may be',
  'too-large': 'a line larger than a proposal may be',
  'invalid-encoding': 'not valid UTF-8 text',
};

/**
 * Proposals from a JSONL corpus: scenario rows `{proposal}`, bare proposals, or exported audit entries. A file with none
 * is an error, not an empty corpus: "0 of 0 decisions change" over a file it could not read would approve any change.
 * An audit entry's `time` is kept for `recordedTimeOf`; one that is not a time is an error naming the line.
 */
export function* readCorpus(path: string): Generator<ProposalInput> {
  let found = 0;
  let lineNumber = 0;
  for (const line of reading(path, () => readPolicyFile(path)).split('\n')) {
    lineNumber++;
    if (!line.trim()) continue;
    // Read as the orchestrator reads a proposal (ADR 0047): a key given twice is refused, not read as its last value, so a
    // diff or a replay never decides a proposal the door would have refused. Beside it, an exported entry's wrapping.
    const parsed = parseStrictJson(line, { maxDepth: MAX_JSON_DEPTH + CORPUS_WRAPPING_DEPTH });
    // Not the parser's message: it quotes keys of the line, which may hold a secret or regulated data (operator CLI probe).
    if (!parsed.ok) throw new Error(`${path}:${lineNumber}: ${CORPUS_LINE_PROBLEMS[parsed.problem]}: a corpus holds ${CORPUS_FORMS}, one per line`);
    const row = parsed.value;
    if (typeof row !== 'object' || row === null || Array.isArray(row)) continue;
    const r = row as Record<string, unknown>;
    const entry = (r.kind === 'entry' ? r.entry : r) as Record<string, unknown> | undefined;
    if (typeof entry !== 'object' || entry === null) continue;
    const candidate = (entry.proposal ?? (entry.data as Record<string, unknown> | undefined)?.proposal ?? (entry.actionType ? entry : undefined)) as
      ProposalInput | undefined;
    if (candidate && (entry.eventType === undefined || entry.eventType === TOPICS.actionProposed)) {
      if (entry.eventType === TOPICS.actionProposed && entry.time !== undefined) {
        if (!EventTime.safeParse(entry.time).success)
          throw new Error(`${path}:${lineNumber}: the proposal's time ${JSON.stringify(entry.time)} is not an ISO 8601 time such as 2026-11-24T23:00:00.000Z`);
        if (typeof candidate === 'object' && candidate !== null) proposedAt.set(candidate, new Date(entry.time as string));
      }
      found++;
      yield candidate;
    }
  }
  if (!found) throw new Error(`${path}: no proposal in it: a corpus holds ${CORPUS_FORMS}, one per line`);
}

export interface Change {
  index: number;
  actionType: string;
  target: string;
  from: string;
  to: string;
}

/**
 * Which decisions change between two contracts over a corpus. Each proposal is decided at the time it was made when its
 * row recorded it (`recordedTimeOf`), else at `FIXED_DECISION_TIME`; `recordedTimes` counts the first kind.
 */
export function diff(
  before: CompiledContract,
  after: CompiledContract,
  corpus: Iterable<ProposalInput>,
  progress?: Pick<Progress, 'update'>,
): { total: number; changes: Change[]; recordedTimes: number } {
  const changes: Change[] = [];
  let total = 0;
  let recordedTimes = 0;
  for (const p of corpus) {
    if (recordedTimeOf(p)) recordedTimes++;
    const now = decisionTimeOf(p);
    const a = evaluate(before, p, AT_REST(now));
    const b = evaluate(after, p, AT_REST(now));
    // The whole review, not only its lane and class: a rule copied with weaker reviewers (roles, quorum, fallback) kept
    // both and read "0 decisions change" (red team, 2026-12-05).
    const reviewChanged = a.lane === 'review' && b.lane === 'review' && canonicalDigest(a.review ?? null) !== canonicalDigest(b.review ?? null);
    if (a.lane !== b.lane || a.review?.slaClass !== b.review?.slaClass || reviewChanged)
      changes.push({ index: total, actionType: p.actionType, target: p.target, from: label(a, reviewChanged), to: label(b, reviewChanged) });
    total++;
    progress?.update(total);
  }
  return { total, changes, recordedTimes };
}

/**
 * The line `diff` and `replay` print first: which time the proposals were decided at. A rule on `time.hour` decides
 * otherwise at another time, so a reader must know.
 */
export function decisionTimeLine({ total, recordedTimes }: { total: number; recordedTimes: number }): string {
  const fixed = FIXED_DECISION_TIME.toISOString().replace('.000Z', 'Z');
  if (recordedTimes === 0) return `decided as at ${fixed}, every flag at rest (no proposal in the corpus records its time)`;
  if (recordedTimes === total) return `decided at each proposal's recorded time (${recordedTimes} of ${total}), every flag at rest`;
  return `decided at each proposal's recorded time (${recordedTimes} of ${total}); the rest as at ${fixed}; every flag at rest`;
}

/**
 * The `policy diff` report (what the CLI prints, and what a change request carries): the controls the new contract
 * removes, adds or changes (`controlChanges`), a line per decision that changes, then the count.
 */
export function diffReport(result: { total: number; changes: Change[] }, before: CompiledContract, after: CompiledContract): string[] {
  return [
    ...controlChanges(before.contract, after.contract),
    ...result.changes.map((c) => `  #${c.index} ${c.actionType} ${c.target}: ${c.from} → ${c.to}`),
    `${result.changes.length} of ${result.total} decisions change`,
  ];
}

/** A decision's lane for the report; `detailed`: with who reviews, when that is what changed. */
const label = (d: Decision, detailed = false) => {
  if (d.lane !== 'review') return d.lane;
  const r = d.review;
  return detailed && r
    ? `review/${r.slaClass} (roles ${r.requiredRoles.join('/')}, quorum ${r.quorum}, when unavailable ${JSON.stringify(r.whenUnavailable)})`
    : `review/${r?.slaClass}`;
};

/**
 * Reviewer load under a contract: how many proposals reach review per SLA class (and the other lanes), each decided at
 * its time as `diff` decides it. `progress` hears the count of proposals replayed (the CLI draws it on a terminal:
 * libs/platform/logging's `createProgress`).
 */
export function replay(
  compiled: CompiledContract,
  corpus: Iterable<ProposalInput>,
  progress?: Pick<Progress, 'update'>,
): { counts: Record<string, number>; total: number; recordedTimes: number } {
  const counts: Record<string, number> = {};
  let total = 0;
  let recordedTimes = 0;
  for (const p of corpus) {
    if (recordedTimeOf(p)) recordedTimes++;
    const key = label(evaluate(compiled, p, AT_REST(decisionTimeOf(p))));
    counts[key] = (counts[key] ?? 0) + 1;
    total++;
    progress?.update(total);
  }
  return { counts, total, recordedTimes };
}

/** A contract file, loaded; a file that cannot be read is an `InaccessibleFile`. */
export function loadContract(path: string): LoadedContract {
  return reading(path, () => loadContractFile(path));
}

export function loadCompiled(path: string): CompiledContract {
  return compileContract(loadContract(path));
}
