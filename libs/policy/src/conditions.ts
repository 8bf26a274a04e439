import { mayHide } from '@countersign/guardrails';
import { canonicalText, canonicalValue, isAsciiOnly, shownText, visibleShownText } from './canonical';

/**
 * The contract's small, deterministic condition language:
 * `{ field: "parameters.amount", gt: 200 }`, `{ all: [...] }`, `{ any: [...] }`, `{ not: {...} }`,
 * with ops eq, ne, gt, gte, lt, lte, in, allIn, exists, matches. Compiled once to closures. A field the action
 * type's schema declares as money reads as its amount in the reference currency (see `money.ts`).
 *
 * Text is compared in its canonical form (`canonical.ts`), on both sides: `eq`, `ne`, `in` and `allIn` compare
 * canonical strings, and `matches` tests the canonical string, case-insensitively. So `{ in: [email] }` matches
 * `Email`, ` EMAIL` and `ｅｍａｉｌ`, and a pattern written for `main` matches `Main`.
 *
 * A text can also be read as it is shown (HTML markup removed, references decoded: `<b>re</b>fund`, `re&#102;und`;
 * `shownText`). `matches` tests both readings, the strict way round: where a match makes a condition hold, either
 * reading matching is a match; under an odd number of `not`s, where a match makes it fail, both must match. The shown
 * text is also read without the content of hidden elements (`visibleShownText`: `re<span hidden>x</span>fund` is seen as
 * `refund`), a third reading tested the same strict way round. So markup
 * can neither hide a phrase from a rule nor dress a value up to pass an allow-list (docs/adr/0033, addendum). Under an
 * odd number of `not`s (the allow-list form), `matches`, `eq`, `in` and `allIn` also test the text as it was sent
 * (case aside, white space at its ends included): a look-alike that folds to an allowed value is not that value to the
 * target that receives it, nor is `internal-dashboard\n` (red team, 2026-12-05: the trimmed value passed the allow-list
 * and the raw one was what executed).
 *
 * `matches` tests each string element of an array (any one matching, or, under `not`, every one).
 *
 * `in` matches when the value (or any element of an array) is in the list; `allIn` when the value (or every
 * element of a non-empty array) is: the allow-list form ("only these fields"), whose `not` catches anything else.
 */
export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | ({ field: string } & Partial<Record<'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'allIn' | 'exists' | 'matches', unknown>>);

export type Predicate = (input: Record<string, unknown>) => boolean;

/** How a condition reads a field other than by its plain value (e.g. a money amount in the reference currency). */
export type FieldReader = (input: Record<string, unknown>) => unknown;

export interface CompileOptions {
  /** A reader for a dotted field, or undefined to read the plain value. A reader may throw: the condition then matches (fail closed). */
  readerFor?: (field: string) => FieldReader | undefined;
}

/** The tests a field condition may carry (several: all must hold). */
export const CONDITION_TESTS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'allIn', 'exists', 'matches'] as const;
const OPS = CONDITION_TESTS;

/** Every field a condition names (for lint). */
export function fieldsOf(c: Condition | undefined): string[] {
  if (!c || typeof c !== 'object') return [];
  if ('all' in c) return c.all.flatMap(fieldsOf);
  if ('any' in c) return c.any.flatMap(fieldsOf);
  if ('not' in c) return fieldsOf(c.not);
  return typeof c.field === 'string' ? [c.field] : [];
}

/** Reads `a.b.c` from the input; undefined when any step is missing. */
export function readPath(input: unknown, path: string[]): unknown {
  let v: unknown = input;
  for (let i = 0; i < path.length; i++) {
    const p = path[i];
    // Own properties only: `constructor` or `__proto__` never reads the prototype.
    if (v === null || typeof v !== 'object' || !Object.prototype.hasOwnProperty.call(v, p)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

export function compileCondition(c: Condition, options: CompileOptions = {}): Predicate {
  return compile(c, options, false);
}

/** A pattern tested where a match makes the condition hold: any reading of the text may match. */
function someReadingMatches(re: RegExp, v: string): boolean {
  if (re.test(canonicalText(v))) return true;
  // The text as it was sent, letters in their own script: folding lookalikes made a word written wholly in Cyrillic
  // (`раураӏ.com`) Latin, so a pattern for another script never saw it (red team, 2026-12-07: such a link ran on its
  // own). Plain ASCII reads the same both ways: tested only when there is more.
  if (!isAsciiOnly(v) && re.test(v)) return true;
  const shown = shownText(v);
  if (shown !== undefined && re.test(shown)) return true;
  // Text without markup may hide something too, as rendered Markdown or a `<?…>` (red team, 2026-12-07).
  if (!mayHide(v)) return false;
  const visible = visibleShownText(v);
  return visible !== undefined && re.test(visible);
}

/**
 * A pattern tested under `not`, where a match makes the condition fail: every reading must match, the text as it was
 * sent too. Execution sends the raw text, not its canonical form: `internal-dаshboard` (a Cyrillic `а`) or
 * `s3:／／bucket` reads as an allowed destination once folded, but is not one (red team, 2026-12-04).
 */
function everyReadingMatches(re: RegExp, v: string): boolean {
  if (!re.test(canonicalText(v)) || !re.test(v)) return false;
  const shown = shownText(v);
  if (shown !== undefined && !re.test(shown)) return false;
  if (!mayHide(v)) return true;
  const visible = visibleShownText(v);
  return visible === undefined || re.test(visible);
}

/**
 * Whether `x` is in the list (`canonical`: its values' canonical forms); under `not` (`raw`: the list as written, trimmed
 * and in lower case), as it was sent too: an allow-list admits only values a target reads as listed, not look-alikes.
 */
function listed(canonical: ReadonlySet<unknown>, raw: ReadonlySet<unknown> | undefined, x: unknown): boolean {
  if (!canonical.has(canonicalValue(x))) return false;
  return raw === undefined || typeof x !== 'string' || raw.has(x.toLowerCase());
}

/** The list as written, strings trimmed and in lower case (how `listed` compares a value as sent). */
const rawList = (arg: unknown[]): ReadonlySet<unknown> => new Set(arg.map((a) => (typeof a === 'string' ? a.trim().toLowerCase() : a)));

/** `negated`: under an odd number of `not`s (a match there loosens, so `matches` takes the stricter reading). */
function compile(c: Condition, options: CompileOptions, negated: boolean): Predicate {
  if ('all' in c) {
    const parts = c.all.map((x) => compile(x, options, negated));
    // Plain loops in the predicates (they run for every rule of every decision): no closure per call.
    return (i) => {
      for (let k = 0; k < parts.length; k++) if (!parts[k](i)) return false;
      return true;
    };
  }
  if ('any' in c) {
    const parts = c.any.map((x) => compile(x, options, negated));
    return (i) => {
      for (let k = 0; k < parts.length; k++) if (parts[k](i)) return true;
      return false;
    };
  }
  if ('not' in c) {
    const inner = compile(c.not, options, !negated);
    return (i) => !inner(i);
  }
  const path = c.field.split('.');
  const read: FieldReader = options.readerFor?.(c.field) ?? ((i) => readPath(i, path));
  const tests: Array<(v: unknown) => boolean> = [];
  for (const op of OPS) {
    if (!(op in c)) continue;
    const arg = (c as Record<string, unknown>)[op];
    switch (op) {
      case 'eq': {
        const want = canonicalValue(arg);
        // Under `not`, equal as sent too (see `listed`).
        const raw = negated ? rawList([arg]) : undefined;
        const wanted = new Set([want]);
        tests.push(raw ? (v) => listed(wanted, raw, v) : (v) => canonicalValue(v) === want);
        break;
      }
      case 'ne': {
        const want = canonicalValue(arg);
        tests.push((v) => canonicalValue(v) !== want);
        break;
      }
      case 'gt':
        tests.push((v) => typeof v === 'number' && v > (arg as number));
        break;
      case 'gte':
        tests.push((v) => typeof v === 'number' && v >= (arg as number));
        break;
      case 'lt':
        tests.push((v) => typeof v === 'number' && v < (arg as number));
        break;
      case 'lte':
        tests.push((v) => typeof v === 'number' && v <= (arg as number));
        break;
      case 'in': {
        const set = new Set((arg as unknown[]).map(canonicalValue));
        const raw = negated ? rawList(arg as unknown[]) : undefined;
        tests.push((v) => (Array.isArray(v) ? v.some((x) => listed(set, raw, x)) : listed(set, raw, v)));
        break;
      }
      case 'allIn': {
        const set = new Set((arg as unknown[]).map(canonicalValue));
        const raw = negated ? rawList(arg as unknown[]) : undefined;
        tests.push((v) => (Array.isArray(v) ? v.length > 0 && v.every((x) => listed(set, raw, x)) : listed(set, raw, v)));
        break;
      }
      case 'exists':
        tests.push((v) => (v !== undefined && v !== null) === arg);
        break;
      case 'matches': {
        const re = new RegExp(arg as string, 'i');
        // An array is read element by element, as `in` and `allIn` read it: where a match makes the condition hold, any
        // string element matching is a match; under `not`, every element must be a string that matches (red team,
        // 2026-12-05: `addPermissions: ["*:*"]` passed a pattern that tested the array as a whole, which is no string).
        const one = negated
          ? (x: unknown) => typeof x === 'string' && everyReadingMatches(re, x)
          : (x: unknown) => typeof x === 'string' && someReadingMatches(re, x);
        tests.push(negated ? (v) => (Array.isArray(v) ? v.length > 0 && v.every(one) : one(v)) : (v) => (Array.isArray(v) ? v.some(one) : one(v)));
        break;
      }
    }
  }
  if (tests.length === 1) {
    const only = tests[0];
    return (i) => only(read(i));
  }
  return (i) => {
    const v = read(i);
    for (let k = 0; k < tests.length; k++) if (!tests[k](v)) return false;
    return true;
  };
}
