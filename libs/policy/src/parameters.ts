import Ajv2020, { ErrorObject, ValidateFunction } from 'ajv/dist/2020';
import type { DataValidateFunction, DataValidationCxt } from 'ajv/dist/types';
import type { CompiledContract } from './evaluate';
import { ISO_4217, minorUnitDigits, MoneyField, withinMinorUnit } from './money';

/**
 * Typed parameters per action type. Each action type of the contract declares `parameters:` as JSON Schema
 * 2020-12 (compiled once, with ajv's 2020 build), plus two keywords of Countersign's own:
 *
 * - `money: { currency: <sibling property>, minimum?, exclusiveMinimum?, maximum? }` on an amount: a finite JSON number, a whole number of
 *   its currency's minor unit (2 decimal places for EUR, none for JPY),
 *   (never a string, null or NaN), within the bounds, whose currency — the named sibling property — is
 *   present and an ISO 4217 code. Conditions on a money field compare in the reference currency.
 * - `currency: true` on a string: an ISO 4217 code.
 */

/** One reason a proposal's parameters are invalid: where (RFC 6901 pointer into the proposal), which rule, why. */
export interface ParameterIssue {
  pointer: string;
  rule: string;
  message: string;
}

/** The `money` keyword's settings, as written in a parameters schema. */
export interface MoneyKeyword {
  currency: string;
  minimum?: number;
  /** Above this, not equal to it: `exclusiveMinimum: 0` refuses a refund of 0 (or of `-0`), which moves no money. */
  exclusiveMinimum?: number;
  maximum?: number;
}

/** Nesting beyond this (in parameters, context or anywhere in a proposal) is refused, never walked. */
export const MAX_PROPOSAL_DEPTH = 64;
/** Values (objects, arrays, scalars) beyond this in one proposal are refused. */
export const MAX_PROPOSAL_NODES = 100_000;
/** At most this many issues are reported for one proposal. */
const MAX_ISSUES = 20;

const escape = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

function moneyValidator(spec: MoneyKeyword): DataValidateFunction {
  // Nothing is allocated for a valid amount (it is checked on every decision): the errors and paths only on failure.
  const none: Array<Partial<ErrorObject>> = [];
  const check: DataValidateFunction = (data: unknown, cxt?: DataValidationCxt) => {
    const parent = cxt?.parentData as Record<string, unknown> | undefined;
    const currency = parent && typeof parent === 'object' ? parent[spec.currency] : undefined;
    const amountOk =
      typeof data === 'number' &&
      Number.isFinite(data) &&
      !(spec.minimum !== undefined && data < spec.minimum) &&
      !(spec.exclusiveMinimum !== undefined && data <= spec.exclusiveMinimum) &&
      !(spec.maximum !== undefined && data > spec.maximum);
    const currencyOk = typeof currency === 'string' && ISO_4217.has(currency);
    // Finer than the currency's minor unit (`20.001` EUR) is no amount that can be paid: refused, not rounded somewhere.
    const precisionOk = !amountOk || !currencyOk || withinMinorUnit(data as number, currency as string);
    if (amountOk && currencyOk && precisionOk) {
      check.errors = none;
      return true;
    }
    const errors: Array<Partial<ErrorObject>> = [];
    if (typeof data !== 'number')
      errors.push({ keyword: 'type', params: { type: 'number' }, message: 'must be a number (a money amount, not a string, null or object)' });
    else if (!Number.isFinite(data)) errors.push({ keyword: 'finite', params: {}, message: 'must be a finite amount' });
    else if (spec.minimum !== undefined && data < spec.minimum)
      errors.push({ keyword: 'minimum', params: { limit: spec.minimum }, message: `must be >= ${spec.minimum}` });
    else if (spec.exclusiveMinimum !== undefined && data <= spec.exclusiveMinimum)
      errors.push({ keyword: 'exclusiveMinimum', params: { limit: spec.exclusiveMinimum }, message: `must be > ${spec.exclusiveMinimum}` });
    else if (spec.maximum !== undefined && data > spec.maximum)
      errors.push({ keyword: 'maximum', params: { limit: spec.maximum }, message: `must be <= ${spec.maximum}` });
    else if (!precisionOk && !Number.isSafeInteger(Math.round(Math.abs(data) * 10 ** (minorUnitDigits(currency as string) ?? 0))))
      // 1e308 EUR in cents is past what a double counts exactly (Infinity): too large, not "too precise".
      errors.push({
        keyword: 'maximum',
        params: { limit: Number.MAX_SAFE_INTEGER },
        message: `must be at most ${Number.MAX_SAFE_INTEGER} of ${currency as string}'s minor unit (an amount a payment system can count exactly)`,
      });
    else if (!precisionOk)
      errors.push({
        keyword: 'minorUnit',
        params: { digits: minorUnitDigits(currency as string) },
        message: `must be a whole number of ${currency as string}'s minor unit (at most ${minorUnitDigits(currency as string)} decimal places)`,
      });
    const path = cxt?.instancePath ?? '';
    const currencyPath = `${path.slice(0, path.lastIndexOf('/'))}/${escape(spec.currency)}`;
    if (currency === undefined)
      errors.push({
        keyword: 'required',
        instancePath: currencyPath,
        params: { missingProperty: spec.currency },
        message: 'a money amount needs its currency',
      });
    else if (typeof currency !== 'string' || !ISO_4217.has(currency))
      errors.push({ keyword: 'currency', instancePath: currencyPath, params: {}, message: 'must be an ISO 4217 currency code (e.g. EUR)' });
    check.errors = errors;
    return errors.length === 0;
  };
  return check;
}

/** One ajv for every contract's parameter schemas: strict, so a misspelt keyword stops the contract loading. */
const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: true, validateFormats: true });
ajv.addKeyword({
  keyword: 'money',
  schemaType: 'object',
  metaSchema: {
    type: 'object',
    required: ['currency'],
    additionalProperties: false,
    properties: {
      currency: { type: 'string', minLength: 1 },
      minimum: { type: 'number' },
      exclusiveMinimum: { type: 'number' },
      maximum: { type: 'number' },
    },
  },
  errors: true,
  compile: (spec: MoneyKeyword) => moneyValidator(spec),
});
ajv.addKeyword({
  keyword: 'currency',
  schemaType: 'boolean',
  errors: true,
  compile: (on: boolean) => {
    const check: DataValidateFunction = (data: unknown) => {
      const ok = !on || (typeof data === 'string' && ISO_4217.has(data));
      check.errors = ok ? [] : [{ keyword: 'currency', params: {}, message: 'must be an ISO 4217 currency code (e.g. EUR)' }];
      return ok;
    };
    return check;
  },
});

/**
 * Compiles one action type's parameter schema; throws with ajv's message when the schema is not valid. The same schema
 * (by its JSON) is compiled once: a process loads the same contract several times (the embedded mode's services, a
 * change's check and its apply), each time some thirty schemas, and ajv's own cache goes by object, not content.
 */
export function compileParameterSchema(schema: object): ValidateFunction {
  const key = JSON.stringify(schema);
  let compiled = COMPILED.get(key);
  if (!compiled) {
    compiled = ajv.compile(schema);
    COMPILED.set(key, compiled);
    if (COMPILED.size > COMPILED_KEEP) COMPILED.delete(COMPILED.keys().next().value!);
  }
  return compiled;
}
/** The schemas compiled last, oldest first: a few contracts' worth (a contract change brings new ones; old ones go). */
const COMPILED = new Map<string, ValidateFunction>();
const COMPILED_KEEP = 500;

/**
 * True when a JSON-like value nests deeper than `maxDepth` or holds more than `maxNodes` values. Recursive only
 * to `maxDepth` levels (it stops there), so it never overflows the stack, whatever it is given; it allocates
 * nothing for plain objects and arrays (it runs on every decision, twice).
 */
export function tooDeepOrLarge(value: unknown, maxDepth = MAX_PROPOSAL_DEPTH, maxNodes = MAX_PROPOSAL_NODES): boolean {
  return valuesIn(value, 0, 0, maxDepth, maxNodes) < 0;
}

/**
 * How many values have been counted once `v` is (`nodes` before it), or -1 as soon as a limit is passed. The count is
 * passed along, not kept in a closure: no closure and context are made per call (the bench's proposal: 139 → 123 ns).
 */
function valuesIn(v: unknown, depth: number, nodes: number, maxDepth: number, maxNodes: number): number {
  if (++nodes > maxNodes) return -1;
  if (v === null || typeof v !== 'object') return nodes;
  if (depth >= maxDepth) return -1;
  if (Array.isArray(v)) {
    if (nodes + v.length > maxNodes) return -1;
    for (let i = 0; i < v.length; i++) if ((nodes = valuesIn(v[i], depth + 1, nodes, maxDepth, maxNodes)) < 0) return -1;
    return nodes;
  }
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue;
    if ((nodes = valuesIn((v as Record<string, unknown>)[k], depth + 1, nodes, maxDepth, maxNodes)) < 0) return -1;
  }
  return nodes;
}

function issueOf(e: ErrorObject): ParameterIssue {
  const extra =
    e.keyword === 'required'
      ? (e.params as { missingProperty?: string }).missingProperty
      : e.keyword === 'additionalProperties'
        ? (e.params as { additionalProperty?: string }).additionalProperty
        : undefined;
  const pointer = `/parameters${e.instancePath}${extra !== undefined && !e.instancePath.endsWith(`/${escape(extra)}`) ? `/${escape(extra)}` : ''}`;
  return { pointer, rule: e.keyword, message: e.keyword === 'additionalProperties' ? 'is not a parameter of this action type' : (e.message ?? 'is invalid') };
}

/**
 * The reasons a proposal's parameters do not fit its action type's schema; `[]` when they fit, and for an
 * action type the contract does not know (`evaluate` prohibits those). Total: never throws.
 */
export function checkParameters(compiled: CompiledContract, proposal: { actionType: string; parameters: unknown }): readonly ParameterIssue[] {
  try {
    const action = typeof proposal?.actionType === 'string' ? compiled.actions.get(proposal.actionType) : undefined;
    if (!action) return [];
    if (tooDeepOrLarge(proposal.parameters))
      return [
        { pointer: '/parameters', rule: 'maxDepth', message: `must nest at most ${MAX_PROPOSAL_DEPTH} levels and hold at most ${MAX_PROPOSAL_NODES} values` },
      ];
    return schemaIssues(action.validate, proposal.parameters);
  } catch {
    return [{ pointer: '/parameters', rule: 'unreadable', message: 'could not be checked' }];
  }
}

/** Parameters that fit: one list for all of them (a decision allocates nothing for its parameters when they fit). */
const NO_ISSUES: readonly ParameterIssue[] = Object.freeze([]);

/**
 * What an action type's compiled parameter schema finds wrong in parameters already known to be within
 * `tooDeepOrLarge`'s bounds (a decision checks the whole proposal first, so it does not walk them twice). Total.
 */
export function schemaIssues(validate: ValidateFunction, parameters: unknown): readonly ParameterIssue[] {
  try {
    if (validate(parameters)) return NO_ISSUES;
    const seen = new Set<string>();
    const issues: ParameterIssue[] = [];
    for (const e of validate.errors ?? []) {
      const issue = issueOf(e);
      const key = `${issue.pointer} ${issue.rule}`;
      if (seen.has(key)) continue;
      seen.add(key);
      issues.push(issue);
      if (issues.length >= MAX_ISSUES) break;
    }
    return issues.length ? issues : [{ pointer: '/parameters', rule: 'schema', message: 'does not fit the action type' }];
  } catch {
    return [{ pointer: '/parameters', rule: 'unreadable', message: 'could not be checked' }];
  }
}

/** Why the proposal's parameters do not fit its action type, naming each JSON pointer and rule (a 400's or a dead letter's reason); undefined when they fit. */
export function parameterRefusal(compiled: CompiledContract, proposal: { actionType: string; parameters: unknown }): string | undefined {
  const issues = checkParameters(compiled, proposal);
  if (!issues.length) return undefined;
  const listed = issues.slice(0, 5).map((i) => `${i.pointer} (${i.rule}): ${i.message}`);
  if (issues.length > 5) listed.push(`… and ${issues.length - 5} more`);
  return `invalid parameters for ${proposal.actionType}: ${listed.join('; ')}`;
}

type Schema = Record<string, unknown>;
const isSchema = (s: unknown): s is Schema => s !== null && typeof s === 'object' && !Array.isArray(s);

/** Walks a parameters schema's declared properties (through allOf/anyOf/oneOf/then/else), calling `visit` with each dotted path. */
function walkProperties(schema: unknown, prefix: string, visit: (path: string, property: Schema, parent: Schema) => void, depth = 0): void {
  if (!isSchema(schema) || depth > 16) return;
  const props = schema.properties;
  if (isSchema(props)) {
    for (const [name, sub] of Object.entries(props)) {
      if (!isSchema(sub)) continue;
      const path = `${prefix}.${name}`;
      visit(path, sub, schema);
      walkProperties(sub, path, visit, depth + 1);
    }
  }
  for (const k of ['allOf', 'anyOf', 'oneOf'])
    if (Array.isArray(schema[k])) for (const s of schema[k] as unknown[]) walkProperties(s, prefix, visit, depth + 1);
  for (const k of ['then', 'else']) walkProperties(schema[k], prefix, visit, depth + 1);
}

/** Every path a parameters schema declares, e.g. `parameters.amount`, `parameters.customer.id`. */
export function declaredPaths(schema: unknown): Set<string> {
  const paths = new Set<string>();
  walkProperties(schema, 'parameters', (path) => paths.add(path));
  return paths;
}

/** The money fields a parameters schema declares: each amount with the path of its currency. */
export function moneyFieldsOf(schema: unknown): MoneyField[] {
  const fields: MoneyField[] = [];
  walkProperties(schema, 'parameters', (path, property) => {
    const money = property.money as MoneyKeyword | undefined;
    if (isSchema(money) && typeof money.currency === 'string')
      fields.push({ amount: path, currency: `${path.slice(0, path.lastIndexOf('.'))}.${money.currency}` });
  });
  return fields;
}
