// How a reviewer's edit of the (masked) parameters becomes the parameters of the new version (docs/adr/0017).
import { isDeepStrictEqual } from 'node:util';
import { maskText, showsMask } from '@countersign/guardrails';
import { parameterRefusal, RunningContract } from '@countersign/policy';
import { valueAtPointer } from '../review-item/json-pointer';

/** A refusal of an edit: the JSON pointer (RFC 6901) of the parameter, and why. */
export class ParameterEditError extends Error {
  constructor(
    readonly pointer: string,
    why: string,
  ) {
    super(`parameters${pointer}: ${why}`);
  }
}

const segment = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The parameters of the new version: the reviewer's `edited` parameters (they edit what they were shown, `masked`),
 * where every value they left exactly as shown takes back its real value from `real` (the sealed proposal). So a
 * reviewer who cannot see a regulated value cannot lose or overwrite it by accident; changing it means typing a whole
 * new value (a value that still shows a mask but differs from what was shown is refused). Removing a parameter is a
 * deliberate change and stays removed. Returns the parameters and the JSON pointers of what changed (no values).
 *
 * `seesReal`: the reviewer may see the real values (`pii:view`), so a value left as they revealed it is left as shown
 * too. For anyone else a value typed equal to the hidden real one is a change like any other: were it "unchanged", a
 * right guess would be told apart from a wrong one ("nothing changed" against a new version), an oracle for masked data.
 */
export function reviseParameters(
  edited: Record<string, unknown>,
  masked: Record<string, unknown>,
  real: Record<string, unknown>,
  seesReal = false,
): { parameters: Record<string, unknown>; changed: string[] } {
  const edit: Edit = { changed: [], seesReal, marks: shownMarks(masked, real) };
  const parameters = merge(edited, masked, real, '', edit) as Record<string, unknown>;
  return { parameters, changed: edit.changed };
}

/** One revision's state: the pointers changed so far, whether its reviewer sees real values, and the masks shown. */
interface Edit {
  changed: string[];
  seesReal: boolean;
  /**
   * The marks `[<name>]` the shown parameters hold and the real ones do not: what masking wrote, a contract's own national
   * ids (`[de-tax-id]`) among them, which the library's list of its forms cannot know (`showsMask`).
   */
  marks: Set<string>;
}

function merge(edited: unknown, masked: unknown, real: unknown, pointer: string, edit: Edit): unknown {
  const { changed, seesReal } = edit;
  // Left as shown (masked, or real to a reviewer who may reveal it): the real value (masking keeps the shape, so this
  // covers whole subtrees).
  if (masked !== undefined && (isDeepStrictEqual(edited, masked) || (seesReal && isDeepStrictEqual(edited, real)))) return real;
  if (isObject(edited) && isObject(masked) && isObject(real)) {
    // Masking can rename a key (an e-mail address used as a key): a shown key is its real key, or the real key that
    // masks to it. Never by position: a store may keep keys in another order (PostgreSQL's jsonb does).
    // Two keys that mask alike are told apart as masking names them, in the real keys' order: the second `#2`, and so on
    // (red team, 2026-12-07: `j***@[email]#2` matched no real key, so the real `jane@y.com` was dropped and the literal
    // shown name added).
    const shownKeys = Object.keys(masked);
    // As the card masks (`forReviewers`, sealed-view.ts), or as the stored column does, for an item read as stored: the
    // naming whose names are the keys shown.
    const reviewers = shownNames(real, true);
    const named = shownKeys.every((k) => reviewers.has(k)) ? reviewers : shownNames(real, false);
    const realKeyOf = new Map<string, string | undefined>();
    // As masking named them first: a real key may itself read like another's mask (`j***@[email]` beside `jane@x.com`,
    // which masks to that name and moves the literal one to `#2`); taken by its literal name first, the one real key
    // was kept twice and the other dropped (red team, 2026-12-07).
    for (const k of shownKeys) realKeyOf.set(k, named.get(k) ?? (k in real ? k : undefined));
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(edited)) {
      const realKey = realKeyOf.get(key);
      const at = `${pointer}/${segment(key)}`;
      if (realKey === undefined) {
        out[fresh(key, at, edit)] = fresh(value, at, edit);
        changed.push(at);
      } else out[realKey] = merge(value, masked[key], real[realKey], at, edit);
    }
    for (const key of shownKeys) if (!(key in edited)) changed.push(`${pointer}/${segment(key)}`);
    return out;
  }
  if (Array.isArray(edited) && Array.isArray(masked) && Array.isArray(real) && edited.length === masked.length) {
    return edited.map((v, i) => merge(v, masked[i], real[i], `${pointer}/${i}`, edit));
  }
  changed.push(pointer || '/');
  return fresh(edited, pointer, edit);
}

/** The marks `[<name>]` in the strings (values and keys) of `masked` that no string of `real` holds (`Edit.marks`). */
function shownMarks(masked: unknown, real: unknown): Set<string> {
  const realText = stringsOf(real).join('\n');
  const marks = new Set<string>();
  for (const text of stringsOf(masked)) for (const m of text.matchAll(/\[([^[\]\n]{1,64})\]/g)) if (!realText.includes(m[0])) marks.add(m[1]);
  return marks;
}

function stringsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsOf(v, out);
  else if (isObject(value))
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      stringsOf(v, out);
    }
  return out;
}

/** Each real key's name as masking shows it (`maskDeep`: its masked text, then `#2`, `#3`, … for a name taken), by name (`forReviewers`: as the card masks). */
function shownNames(real: Record<string, unknown>, forReviewers: boolean): Map<string, string> {
  const named = new Map<string, string>();
  for (const k of Object.keys(real)) {
    const base = maskText(k, { forReviewers });
    let name = base;
    for (let n = 2; named.has(name); n++) name = `${base}#${n}`;
    named.set(name, k);
  }
  return named;
}

/**
 * A value (or a key) the reviewer typed: taken as is, unless it still shows a mask, in any of masking's forms or one the
 * card showed (a masked value edited in part is no value: the mask would go out as the value).
 */
function fresh<T>(value: T, pointer: string, edit: Edit): T {
  if (typeof value === 'string' && showsMask(value, edit.marks)) {
    throw new ParameterEditError(
      pointer || '/',
      'still shows a masked value but is not the value shown: keep it exactly as shown (its real value is kept) or replace it whole',
    );
  }
  if (Array.isArray(value)) return value.map((v, i) => fresh(v, `${pointer}/${i}`, edit)) as T;
  if (isObject(value))
    for (const [k, v] of Object.entries(value)) {
      fresh(k, `${pointer}/${segment(k)}`, edit);
      fresh(v, `${pointer}/${segment(k)}`, edit);
    }
  return value;
}

/**
 * Why the new version a revision made is its reviewer's own authorship, which their approval alone does not carry
 * (undefined when the revision only narrows the action). ADR 0017 carried the reviser's approval to every new version
 * that came back for review, so one reviewer could write values and approve them alone: a refund raised twenty-fold, a
 * card number added that a guardrail sends to a person, executed with nobody but its author (red team, 2026-12-04).
 * Narrowing is one thing only: a money amount (`amounts`, JSON pointers of the action type's money fields) lowered,
 * keeping its sign, while the new version fires no rule the original did not. Anything else (text: an account, an
 * address, a destination, a statement; any other number: replicas, limits; a field added or removed; an amount
 * raised or turned negative) is authored, and another reviewer approves the new version (red team, 2026-12-04: text
 * edits had carried, and moved a payout to another IBAN).
 */
export function authoredChange(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  changed: readonly string[],
  firedBefore: readonly string[],
  firedAfter: readonly string[],
  amounts: readonly string[],
): string | undefined {
  const fresh = firedAfter.filter((r) => !firedBefore.includes(r));
  if (fresh.length) return `the new version fires ${fresh.join(', ')}, which the original did not`;
  for (const pointer of changed) {
    const was = valueAtPointer(before, pointer);
    const now = valueAtPointer(after, pointer);
    if (was === undefined) return `${pointer} was added`;
    if (now === undefined) return `${pointer} was removed`;
    if (!amounts.includes(pointer)) return `${pointer} is not a money amount lowered`;
    if (typeof was !== 'number' || typeof now !== 'number' || now < 0 || now > was) return `${pointer} was not lowered`;
  }
  return undefined;
}

/** The JSON pointers (under `parameters`) of an action type's money amounts, in the contract at hand. */
export type RevisionMoneyFields = (actionType: string) => string[];

export function revisionMoneyFields(running: RunningContract): RevisionMoneyFields {
  return (actionType) =>
    (running.compiledContract().actions.get(actionType)?.money ?? []).map((m) =>
      m.amountPath
        .slice(1)
        .map((k) => `/${segment(k)}`)
        .join(''),
    );
}

/**
 * Why a revised proposal's parameters do not fit its action type in the contract `contractVersion` names, or undefined
 * when they fit or when that is not the contract at hand (the policy engine then decides, as for any version).
 */
export type RevisionParameterCheck = (proposal: { actionType: string; parameters: unknown }, contractVersion: string) => string | undefined;

/** The check against the running contract (as the policy engines run it: the file, then each approved change). */
export function revisionParameterCheck(running: RunningContract): RevisionParameterCheck {
  return (proposal, contractVersion) => {
    const compiled = running.compiledContract();
    return contractVersion === compiled.contract.version ? parameterRefusal(compiled, proposal) : undefined;
  };
}
