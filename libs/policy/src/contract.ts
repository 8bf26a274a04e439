import Ajv from 'ajv';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, Document } from 'yaml';
import { canonicalDigest, closestName } from '@countersign/contracts';
import { CONDITION_TESTS, type Condition } from './conditions';
import type { ActionSpec, OperationalContract } from './contract.types';
import { ISO_4217 } from './money';
import { compileParameterSchema, moneyFieldsOf } from './parameters';
import { backtrackingRisk } from './regex-safety';
import { InvalidUtf8Error, PolicyFileNotRegularError, PolicyFileTooLargeError, readUtf8File } from './text-file';
import schema from '../contract.schema.json';

// The contract's shape is written once, as JSON Schema (../contract.schema.json): the types are generated from it.
export * from './contract.types';
export type { Lane } from '@countersign/contracts';

/** A loaded contract: its version as a string, with its content hash (SHA-256 of its canonical JSON). */
export interface LoadedContract extends Omit<OperationalContract, 'version'> {
  version: string;
  hash: string;
  file: string;
}

/**
 * The roles `contract` routes reviews to: each review's `requiredRoles` and fallback team (action types and rules), and
 * the escalation tiers. A tokens file's role that is neither one of these nor Countersign's own grants nothing.
 */
export function contractRoles(contract: Pick<OperationalContract, 'actions' | 'rules' | 'escalation'>): string[] {
  const roles = new Set<string>();
  const reviews = [...Object.values(contract.actions).map((a) => a.review), ...(contract.rules ?? []).map((r) => r.review)];
  for (const review of reviews) {
    if (!review) continue;
    for (const role of review.requiredRoles) roles.add(role);
    if (typeof review.whenUnavailable === 'object') roles.add(review.whenUnavailable.fallback);
  }
  for (const [from, to] of Object.entries(contract.escalation?.nextTier ?? {})) roles.add(from).add(to);
  return [...roles].sort();
}

/** Why a contract cannot load: names the file, the line and the offending rule or field. */
export class ContractError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly where: string,
    readonly problem: string,
  ) {
    super(`${file}${line ? `:${line}` : ''}: ${where}: ${problem}`);
  }
}

const ajv = new Ajv({ allErrors: false, strict: false });
const validate = ajv.compile(schema);

function lineOf(doc: Document, counter: LineCounter, pointer: string): number | undefined {
  const path = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = doc.contents;
  let last: unknown = node;
  for (const key of path) {
    if (isMap(node)) node = node.get(key, true);
    else if (isSeq(node)) node = node.get(Number(key), true);
    else break;
    if (node) last = node;
  }
  const range = (last as { range?: [number, number, number] })?.range;
  return range ? counter.linePos(range[0]).line : undefined;
}

/** The line of the key `name` in the map at `mapPointer` (not of its value, which may start a line later). */
function lineOfKey(doc: Document, counter: LineCounter, mapPointer: string, name: string): number | undefined {
  const map = doc.getIn(
    mapPointer
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')),
    true,
  );
  const pair = isMap(map) ? map.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === name) : undefined;
  const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
  return range ? counter.linePos(range[0]).line : lineOf(doc, counter, mapPointer);
}

/** The rule or action an error is in, for the message: `actions.support.refund` or `rules[2] (refund-large)`. */
function describeWhere(contract: Record<string, unknown>, pointer: string): string {
  const [, section, key] = pointer.split('/');
  if (!section) return '(contract)';
  if (section === 'actions' && key) return `actions.${key}${pointer.split('/').length > 3 ? `.${pointer.split('/').slice(3).join('.')}` : ''}`;
  const list = contract[section];
  if (Array.isArray(list) && key !== undefined) {
    const id = (list[Number(key)] as { id?: string })?.id;
    return `${section}[${key}]${id ? ` (${id})` : ''}${pointer.split('/').length > 3 ? `.${pointer.split('/').slice(3).join('.')}` : ''}`;
  }
  return pointer.split('/').slice(1).join('.');
}

/**
 * Plain YAML as the policy tools read it (a contract, a test table): a duplicate key is an error, and so is an unknown
 * tag; aliases expand at most as far as the parser's default `maxAliasCount` lets them. Throws `ContractError` naming
 * the file and line.
 */
export function parsePlainYaml(
  text: string,
  file: string,
): { value: unknown; doc: Document; counter: LineCounter; lineAt(path: readonly PropertyKey[]): number | undefined } {
  const counter = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  } catch (e) {
    // The parser recurses: a thousand nested brackets overflow its stack (red team, 2026-12-05: the answer was "Maximum
    // call stack size exceeded"). Said as what it is, at the line where the nesting passes the bound.
    if (e instanceof RangeError) throw new ContractError(file, lineNestedBeyond(text, MAX_YAML_DEPTH), '(yaml)', TOO_DEEP);
    throw e;
  }
  // Warnings too: an unknown tag (`!!js/function`, `!foo`) is dropped by the parser and its value kept as plain text,
  // so the file would not say what its author (or an attacker) wrote. The policy tools read plain YAML only.
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) throw new ContractError(file, problem.linePos?.[0]?.line ?? counter.linePos(problem.pos[0]).line, '(yaml)', problem.message.split('\n')[0]);
  // YAML 1.2 only: `%YAML 1.1` turns on merge keys and the old scalars, where `NO` is false and `0755` is 493, so
  // `in: [NO]` stopped matching Norway (red team, 2026-12-05).
  if (doc.directives?.yaml.version !== '1.2')
    throw new ContractError(
      file,
      1,
      '(yaml)',
      `a %YAML ${doc.directives?.yaml.version} directive: the policy tools read YAML 1.2 only (leave the directive out)`,
    );
  const deep = nodeNestedBeyond(doc, MAX_YAML_DEPTH);
  if (deep) throw new ContractError(file, deep.range ? counter.linePos(deep.range[0]).line : undefined, '(yaml)', TOO_DEEP);
  try {
    const lineAt = (path: readonly PropertyKey[]) => lineOf(doc, counter, path.map((k) => `/${String(k).replace(/~/g, '~0').replace(/\//g, '~1')}`).join(''));
    return { value: doc.toJS(), doc, counter, lineAt };
  } catch (e) {
    // Too many aliases (a "billion laughs"), or an alias to nothing.
    throw new ContractError(file, undefined, '(yaml)', (e as Error).message.split('\n')[0]);
  }
}

/** How deep a policy file's YAML may nest: the shipped contract nests 8 levels; a condition's `all`/`any`/`not` a few more. */
const MAX_YAML_DEPTH = 64;
const TOO_DEEP = `nested more than ${MAX_YAML_DEPTH} levels deep: a contract needs far fewer`;

/** The first collection nested deeper than `max` (walked with a stack of its own, not by recursion), or undefined. */
function nodeNestedBeyond(doc: Document, max: number): { range?: [number, number, number] | null } | undefined {
  const stack: Array<[unknown, number]> = [[doc.contents, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (!isMap(node) && !isSeq(node)) continue;
    if (depth > max) return node;
    for (const item of node.items as unknown[]) {
      if (isPair(item)) {
        stack.push([item.key, depth + 1]);
        stack.push([item.value, depth + 1]);
      } else stack.push([item, depth + 1]);
    }
  }
  return undefined;
}

/** Where flow brackets (`[`, `{`) first nest deeper than `max`, counted outside quotes: the line, for a parser that gave up. */
function lineNestedBeyond(text: string, max: number): number | undefined {
  let depth = 0;
  let line = 1;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    else if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') {
      if (++depth > max) return line;
    } else if (c === ']' || c === '}') depth = Math.max(0, depth - 1);
  }
  return undefined;
}

/**
 * Parses and validates a contract; throws `ContractError` naming the file, line and rule. A text parsed before under the
 * same name is not parsed again: each caller gets a copy of that result. One process reads the same contract several
 * times (the embedded mode's services load it six times at a start), and a parse is YAML, every check and some thirty
 * parameter schemas. A refused text is parsed (and refused) each time.
 */
export function parseContract(text: string, file = '<contract>'): LoadedContract {
  const key = `${file}\0${text}`;
  let parsed = PARSED.get(key);
  if (!parsed) {
    parsed = parseUncached(text, file);
    PARSED.set(key, parsed);
    if (PARSED.size > PARSED_KEEP) PARSED.delete(PARSED.keys().next().value!);
  }
  return structuredClone(parsed);
}
/** The texts parsed last, oldest first: the running contract and a change or two under review. */
const PARSED = new Map<string, LoadedContract>();
const PARSED_KEEP = 4;

function parseUncached(text: string, file: string): LoadedContract {
  const { value, doc, counter } = parsePlainYaml(text, file);
  const raw = value as Record<string, unknown>;
  // YAML's escapes (`"\u0000"`, `"\ud800"`) make what JSON bodies cannot carry: text no store can keep (PostgreSQL's
  // jsonb refuses NUL and lone surrogates: a 500 once) and no reader sees. Refused here, naming where.
  const unreadable = unreadableText(raw);
  if (unreadable) throw new ContractError(file, lineOf(doc, counter, unreadable.pointer), describeWhere(raw, unreadable.pointer), unreadable.problem);
  if (!validate(raw)) {
    const err = validate.errors![0];
    // A bad key (`propertyNames`): Ajv reports the map it is in, whose first line is another, valid key. Point at the
    // bad key itself and name it.
    if (err.propertyName !== undefined) {
      const name = err.propertyName;
      const pointer = `${err.instancePath}/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      const problem =
        err.instancePath === '/actions'
          ? `action type name "${name}" must be two or more dot-separated lower-case words of a-z, 0-9 and _, each starting with a letter (no "-")`
          : `key "${name}" ${err.message ?? 'is invalid'}`;
      throw new ContractError(file, lineOfKey(doc, counter, err.instancePath, name), describeWhere(raw, pointer), problem);
    }
    const pointer =
      err.keyword === 'additionalProperties' ? `${err.instancePath}/${(err.params as { additionalProperty: string }).additionalProperty}` : err.instancePath;
    throw new ContractError(
      file,
      lineOf(doc, counter, pointer),
      describeWhere(raw, pointer),
      err.keyword === 'additionalProperties' ? 'unknown field' : (err.message ?? 'invalid'),
    );
  }
  const fail = (pointer: string, problem: string): never => {
    throw new ContractError(file, lineOf(doc, counter, pointer), describeWhere(raw, pointer), problem);
  };
  // YAML reads `version: 2026.20` as the number 2026.2, and `2026.10` as 2026.1: a version the author did not write,
  // refused later as "not above" the running one, or worse, accepted as an older one's label (config probe, 2026-12-05).
  if (typeof raw.version === 'number' && !Number.isInteger(raw.version))
    fail('/version', `YAML reads this version as the number ${raw.version}: write it in quotes (version: '…') so it stays as written`);
  const contract = { ...(raw as unknown as OperationalContract), version: String(raw.version) };
  checkConditions(contract, fail);
  checkPatterns(raw, fail);
  checkMoney(contract, fail);
  checkDegradation(contract, fail);
  checkDecisionQuality(contract, fail);
  for (const [type, a] of Object.entries(contract.actions)) {
    checkParameterSchema(type, a, fail);
    const reviewable =
      a.lane === 'review' ||
      (contract.rules ?? []).some((r) => r.lane === 'review' && r.actionTypes.includes(type)) ||
      a.thresholds?.review !== undefined ||
      (contract.aggregateLimits ?? []).some((l) => (l.onExceed === 'review' || l.whenMissing === 'review') && l.actionTypes.includes(type)) ||
      (a.lane !== 'prohibited' && (contract.anomalies ?? []).some((r) => r.onDetect === 'review' && (!r.actionTypes || r.actionTypes.includes(type)))) ||
      (a.outbound === true && contract.guardrails?.regulatedDataInOutboundText === 'review') ||
      (a.lane !== 'prohibited' && contract.guardrails?.cardDataInParameters === 'review') ||
      (moneyFieldsOf(a.parameters).length > 0 && (contract.money?.unknownCurrency ?? 'review') === 'review');
    if (reviewable && !a.review)
      fail(`/actions/${type}`, 'an action that can reach review needs review settings (slaClass, requiredRoles, quorum, whenUnavailable)');
    if (a.review && !(a.review.slaClass in contract.slaClasses)) fail(`/actions/${type}/review/slaClass`, `unknown SLA class ${a.review.slaClass}`);
  }
  checkListedEntries(contract, fail);
  // A rule's own review settings, as an action's: an unknown SLA class quietly took the longest one (red team, 2026-12-05).
  (contract.rules ?? []).forEach((r, i) => {
    if (r.review && !(r.review.slaClass in contract.slaClasses)) fail(`/rules/${i}/review/slaClass`, `unknown SLA class ${r.review.slaClass}`);
  });
  (contract.aggregateLimits ?? []).forEach((l, i) => {
    if (l.maxCount === undefined && l.maxAmount === undefined) fail(`/aggregateLimits/${i}`, 'an aggregate limit needs maxCount, maxAmount or both');
    if (l.maxAmount !== undefined && !l.amount) fail(`/aggregateLimits/${i}`, 'maxAmount needs the money field it sums (amount: parameters.X)');
    if (l.whenMissing !== undefined && l.per === 'target')
      fail(`/aggregateLimits/${i}/whenMissing`, 'whenMissing needs a per parameter (a target is never missing)');
    if (l.amount) {
      for (const t of l.actionTypes) {
        if (t in contract.actions && !moneyFieldsOf(contract.actions[t].parameters).some((m) => m.amount === l.amount))
          fail(`/aggregateLimits/${i}/amount`, `${l.amount} is not a money field of ${t}`);
      }
    }
  });
  checkAnomalies(contract, fail);
  return { ...contract, hash: `sha256:${canonicalDigest(contract)}`, file };
}

type Fail = (pointer: string, problem: string) => never;

/** Every value of the parsed contract, depth first, with its JSON pointer and the key it is under (`undefined` at the top). */
function forEachValue(root: unknown, visit: (value: unknown, pointer: string, key: string | undefined) => void): void {
  const stack: Array<{ value: unknown; pointer: string; key?: string }> = [{ value: root, pointer: '' }];
  while (stack.length) {
    const { value, pointer, key } = stack.pop()!;
    visit(value, pointer, key);
    if (Array.isArray(value)) value.forEach((v, i) => stack.push({ value: v, pointer: `${pointer}/${i}` }));
    else if (value && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) stack.push({ value: v, pointer: `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, key: k });
  }
}

/**
 * Every pattern of the contract (a condition's `matches`, a parameter schema's `pattern`, a national id's) compiles and
 * cannot take exponential time on an agent's text (`backtrackingRisk`): it runs on every decision, and one admin's request
 * must not be able to stall the policy engine (red team, 2026-12-04).
 */
function checkPatterns(root: unknown, fail: Fail): void {
  forEachValue(root, (value, pointer, key) => {
    if ((key !== 'matches' && key !== 'pattern') || typeof value !== 'string') return;
    try {
      new RegExp(value, 'i'); // as the conditions compile it (a parameter schema's own check adds the u flag)
    } catch (e) {
      fail(pointer, `not a valid regular expression: ${(e as Error).message}`);
    }
    const risk = backtrackingRisk(value);
    if (risk) fail(pointer, `a pattern that can stall every decision: ${risk}`);
  });
}

/** The first string (value or key) holding a control character other than tab and line breaks, or a lone surrogate. */
function unreadableText(root: unknown): { pointer: string; problem: string } | undefined {
  const problemOf = (text: string): string | undefined => {
    // Carriage returns, C1 controls (U+009B opens a terminal escape sequence) and bidi controls too: a rule's reason is
    // printed by `policy explain` and shown on cards, and they forged a second `lane: autonomous` line there, or
    // reordered it (red team, 2026-12-04).
    const control = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.exec(text)?.[0];
    if (control !== undefined) return `holds the control character U+${control.charCodeAt(0).toString(16).padStart(4, '0').toUpperCase()}`;
    return (text as unknown as { isWellFormed(): boolean }).isWellFormed() ? undefined : 'holds a lone surrogate (no character)';
  };
  let found: { pointer: string; problem: string } | undefined;
  forEachValue(root, (value, pointer, key) => {
    if (found) return;
    const ofKey = key === undefined ? undefined : problemOf(key);
    const ofText = typeof value === 'string' ? problemOf(value) : undefined;
    // A bad key is named where its object is (its own pointer would carry it).
    if (ofKey) found = { pointer: pointer.slice(0, pointer.lastIndexOf('/')), problem: `a key ${ofKey}` };
    else if (ofText) found = { pointer, problem: `the text ${ofText}` };
  });
  return found;
}

/** The degradation levels: each exit threshold names a signal its enter names, and is at most it; levels rise with the mode. */
function checkDegradation(contract: OperationalContract, fail: Fail): void {
  const d = contract.degradation;
  if (!d) return;
  const levels = ['elevated', 'constrained', 'halted'] as const;
  for (const level of levels) {
    const { enter, exit } = d[level];
    for (const [signal, value] of Object.entries(exit) as Array<[keyof typeof exit, number]>) {
      const entered = enter[signal];
      if (entered === undefined) fail(`/degradation/${level}/exit/${signal}`, `an exit threshold needs the enter threshold of ${signal}`);
      else if (value > entered)
        fail(`/degradation/${level}/exit/${signal}`, `the exit threshold (${value}) must not be above the enter threshold (${entered})`);
    }
    for (const signal of Object.keys(enter))
      if (!(signal in exit)) fail(`/degradation/${level}/enter/${signal}`, `an enter threshold needs an exit threshold of ${signal} (hysteresis)`);
  }
  for (let i = 1; i < levels.length; i++) {
    const lower = d[levels[i - 1]].enter;
    const higher = d[levels[i]].enter;
    for (const [signal, value] of Object.entries(higher) as Array<[keyof typeof higher, number]>) {
      const below = lower[signal];
      if (below !== undefined && value < below)
        fail(`/degradation/${levels[i]}/enter/${signal}`, `${levels[i]} must not enter below ${levels[i - 1]} (${value} < ${below})`);
    }
  }
  for (const cls of Object.keys(d.slo?.classTargets ?? {}))
    if (!(cls in contract.slaClasses)) fail(`/degradation/slo/classTargets/${cls}`, `unknown SLA class ${cls}`);
}

/**
 * Canary templates (ADR 0018): unique ids, each a proposal of a known action type that can reach review, whose
 * parameters validate against that type's schema: a canary must look like a real item of its type, or it is no test.
 */
function checkDecisionQuality(contract: OperationalContract, fail: Fail): void {
  const seen = new Set<string>();
  (contract.decisionQuality?.canaries?.templates ?? []).forEach((t, i) => {
    const at = `/decisionQuality/canaries/templates/${i}`;
    if (seen.has(t.id)) fail(`${at}/id`, `duplicate canary template id ${t.id}`);
    seen.add(t.id);
    const action = contract.actions[t.actionType];
    if (!action) return fail(`${at}/actionType`, `unknown action type ${t.actionType}`);
    if (!action.review) fail(`${at}/actionType`, `${t.actionType} has no review settings: a canary of it could never be queued`);
    const valid = compileParameterSchema(action.parameters);
    if (!valid(t.parameters))
      fail(`${at}/parameters`, `not valid parameters of ${t.actionType}: ${valid.errors?.[0]?.instancePath || '/'} ${valid.errors?.[0]?.message ?? ''}`.trim());
  });
}

const RISE_THRESHOLDS = ['by', 'ceiling'];
const VOLUME_THRESHOLDS = ['factor', 'ceilingPerMinute'];

/** Anomaly rules: a baseline longer than the burst, thresholds of their kind (their ids and types: `checkListedEntries`). */
function checkAnomalies(contract: OperationalContract, fail: Fail): void {
  (contract.anomalies ?? []).forEach((r, i) => {
    if (r.baselineWindowSeconds < 2 * r.shortWindowSeconds)
      fail(`/anomalies/${i}/baselineWindowSeconds`, `the baseline must be at least twice the short window (${2 * r.shortWindowSeconds} s)`);
    const own = r.kind === 'volume-rise' ? VOLUME_THRESHOLDS : RISE_THRESHOLDS;
    const others = r.kind === 'volume-rise' ? RISE_THRESHOLDS : VOLUME_THRESHOLDS;
    if (!own.some((k) => k in r)) fail(`/anomalies/${i}`, `a ${r.kind} rule needs ${own.join(', ')} or both`);
    const stray = others.find((k) => k in r);
    if (stray) fail(`/anomalies/${i}/${stray}`, `${stray} is not a threshold of a ${r.kind} rule (it takes ${own.join(', ')})`);
  });
}

/** The sections whose entries are a list, each named by its `id`. */
export const LISTED_SECTIONS = ['rules', 'prohibited', 'scoring', 'rateLimits', 'aggregateLimits', 'anomalies'] as const;

/**
 * The entries of the listed sections: one id names one entry (an anomaly rule's keys its statistics), and every list of
 * action types names types of the contract, at least one. A misspelled type (`tickets.tag`, or one with a Cyrillic
 * letter) in a prohibition or a scoring rule matched nothing, so the prohibition prohibited nothing and the points never
 * counted, and `policy lint` and the change's diff said nothing (config probe, 2026-12-05). An empty list covers
 * nothing either; a rule for every type leaves the list out.
 */
function checkListedEntries(contract: OperationalContract, fail: Fail): void {
  for (const section of LISTED_SECTIONS) {
    const entries = contract[section] as Array<{ id?: string; actionTypes?: string[] }> | undefined;
    const ids = new Set<string>();
    (entries ?? []).forEach((entry, i) => {
      // One id, one entry: with two, the engine used one and a change's report compared the other (red team,
      // 2026-12-05: a copy of a rule with weaker reviewers, placed first, read "0 of 24 decisions change").
      const id = entry.id;
      if (id !== undefined && ids.has(id)) fail(`/${section}/${i}/id`, `another entry of ${section} is called ${id}: ids name one entry each`);
      if (id !== undefined) ids.add(id);
      if (!entry.actionTypes) return;
      const pointer = `/${section}/${i}/actionTypes`;
      if (entry.actionTypes.length === 0)
        fail(pointer, 'an empty list of action types covers none: name them, or leave the list out where it may cover every type');
      entry.actionTypes.forEach((t) => t in contract.actions || fail(pointer, `unknown action type ${t}`));
    });
  }
}

/** What a decision reads (`evaluate`'s input), by its first segment; `parameters` and `context` are the agent's own. */
const DECISION_FIELDS: Record<string, readonly string[] | 'any' | 'none'> = {
  parameters: 'any',
  context: 'any',
  confidence: 'none',
  tenant: 'none',
  region: 'none',
  target: 'none',
  actionType: 'none',
  proposer: ['agentId', 'model.name', 'model.version', 'promptTemplateVersion'],
  time: ['hour', 'weekday'],
};

/**
 * Why a condition's field names nothing a decision reads, or undefined. A misspelt field (`confidnce`, `tagret`,
 * `time.hours`) read as missing, so its test never fired and `policy lint` said nothing (red team, 2026-12-05: the
 * low-confidence rule sent nothing to review). `parameters.X` names are checked against the schemas by lint.
 */
function unreadField(field: string): string | undefined {
  const [first, ...rest] = field.split('.');
  const known = DECISION_FIELDS[first];
  const names = `${Object.keys(DECISION_FIELDS).join(', ')}`;
  if (known === undefined) {
    const meant = closestName(first, Object.keys(DECISION_FIELDS));
    return `${field} names nothing a decision reads${meant ? ` (did you mean ${meant}?)` : ''}: a field starts with one of ${names}`;
  }
  if (known === 'any') return undefined;
  if (known === 'none') return rest.length ? `${first} has no fields: ${field} names nothing` : undefined;
  const sub = rest.join('.');
  return known.includes(sub) ? undefined : `${field} names nothing a decision reads: ${first} has ${known.map((k) => `${first}.${k}`).join(', ')}`;
}

/** What a condition is: exactly one of these keys. */
const CONDITION_SHAPES = ['all', 'any', 'not', 'field'] as const;

/**
 * Every condition (`when` of a rule, a prohibition, a scoring rule) is one thing: `all`, `any`, `not`, or a `field` with
 * at least one test. The engine reads the first shape it finds and drops the rest, and a field with no test always
 * holds, so `not: {all: […], field: …, in: […]}` or `{field: x}` loaded and decided otherwise than it read: a model
 * version the contract sent to review ran on its own (config probe, 2026-12-05).
 */
function checkConditions(contract: OperationalContract, fail: Fail): void {
  const check = (c: Condition, pointer: string): void => {
    const shapes = CONDITION_SHAPES.filter((k) => k in c);
    if (shapes.length !== 1)
      fail(
        pointer,
        shapes.length === 0
          ? 'a condition needs all, any, not, or a field with a test'
          : `a condition is one of all, any, not, or a field with its tests, not ${shapes.join(' and ')} together: put each in its own condition under all or any`,
      );
    const shape = shapes[0];
    if (shape === 'field') {
      const leaf = c as Record<string, unknown> & { field: string };
      if (!CONDITION_TESTS.some((op) => op in leaf))
        fail(pointer, `a field condition needs a test (${CONDITION_TESTS.join(', ')}): "field" alone would always hold`);
      const unread = unreadField(leaf.field);
      if (unread) fail(`${pointer}/field`, unread);
      for (const op of ['in', 'allIn'] as const)
        if (Array.isArray(leaf[op]) && (leaf[op] as unknown[]).length === 0)
          fail(`${pointer}/${op}`, `an empty list matches nothing (and everything under not): name the values`);
      if (leaf.matches === '') fail(`${pointer}/matches`, 'an empty pattern matches every text: name what it looks for');
      return;
    }
    const stray = Object.keys(c).filter((k) => k !== shape);
    if (stray.length) fail(pointer, `"${shape}" stands alone in its condition; ${stray.join(', ')} beside it would be ignored: put them under all or any`);
    if (shape === 'not') check((c as { not: Condition }).not, `${pointer}/not`);
    else (c as Record<'all' | 'any', Condition[]>)[shape].forEach((x, i) => check(x, `${pointer}/${shape}/${i}`));
  };
  const sections: Array<[string, Array<{ when?: Condition }> | undefined]> = [
    ['rules', contract.rules],
    ['prohibited', contract.prohibited],
    ['scoring', contract.scoring],
  ];
  for (const [section, entries] of sections) (entries ?? []).forEach((e, i) => e.when && check(e.when, `/${section}/${i}/when`));
}

/** The rate table: ISO 4217 codes, positive finite rates, the reference currency at 1. */
function checkMoney(contract: OperationalContract, fail: Fail): void {
  const money = contract.money;
  if (!money) {
    const type = Object.keys(contract.actions).find((t) => moneyFieldsOf(contract.actions[t].parameters).length > 0);
    if (type) fail(`/actions/${type}/parameters`, 'money fields need a money section (reference currency and rate table)');
    return;
  }
  if (!ISO_4217.has(money.reference)) fail('/money/reference', `${money.reference} is not an ISO 4217 currency code`);
  for (const [code, rate] of Object.entries(money.rates)) {
    if (!ISO_4217.has(code)) fail(`/money/rates/${code}`, `${code} is not an ISO 4217 currency code`);
    if (!(typeof rate === 'number' && Number.isFinite(rate) && rate > 0)) fail(`/money/rates/${code}`, 'a rate is a positive finite number');
  }
  if (money.rates[money.reference] !== 1) fail('/money/rates', `the reference currency ${money.reference} must be in the table at rate 1`);
}

/** A parameter schema compiles (ajv 2020, strict), describes an object, and decides `additionalProperties`. */
function checkParameterSchema(type: string, a: ActionSpec, fail: Fail): void {
  const at = `/actions/${type}/parameters`;
  if (a.parameters.type !== 'object') fail(at, 'parameters are an object: the schema needs type: object');
  if (!('additionalProperties' in a.parameters)) fail(at, 'decide additionalProperties for each action type (false, true or a schema)');
  try {
    compileParameterSchema(a.parameters);
  } catch (e) {
    fail(at, `not a valid parameter schema: ${(e as Error).message}`);
  }
  for (const m of moneyFieldsOf(a.parameters)) {
    const siblings = m.currency.split('.').slice(1, -1);
    let node: unknown = a.parameters;
    for (const k of siblings) node = (node as { properties?: Record<string, unknown> })?.properties?.[k];
    const declared = (node as { properties?: Record<string, unknown> })?.properties ?? {};
    if (!(m.currency.split('.').pop()! in declared))
      fail(at, `the money field ${m.amount} names its currency ${m.currency}, which the schema does not declare`);
  }
}

export function loadContractFile(path: string): LoadedContract {
  return parseContract(readPolicyFile(path), path);
}

/** A policy file's text (`readUtf8File`), with invalid UTF-8 refused as a `ContractError` naming the line and byte. */
export function readPolicyFile(path: string): string {
  try {
    return readUtf8File(path);
  } catch (e) {
    if (e instanceof InvalidUtf8Error) throw new ContractError(path, e.line, '(encoding)', `invalid UTF-8 at byte ${e.byte}: the file must be UTF-8`);
    if (e instanceof PolicyFileTooLargeError) throw new ContractError(path, undefined, '(size)', e.message);
    if (e instanceof PolicyFileNotRegularError) throw new ContractError(path, undefined, '(file)', e.message);
    throw e;
  }
}
