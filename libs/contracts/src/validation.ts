import { z, ZodError } from 'zod';

/**
 * One precise line per problem, e.g. `confidence: must be at most 1` or `proposer.model.name: required`,
 * for 400 responses and dead-letter reasons.
 */
export function describeIssues(error: z.ZodError, max = 5): string {
  const lines = error.issues.slice(0, max).map((i) => {
    const path = i.path.length ? i.path.join('.') : '(root)';
    const msg = i.code === 'invalid_type' && /received undefined/.test(i.message) ? 'required' : i.message;
    return `${path}: ${msg}`;
  });
  if (error.issues.length > max) lines.push(`… and ${error.issues.length - max} more`);
  return lines.join('; ');
}

/**
 * Fields of `input` that a schema dropped when it parsed it into `parsed`: keys of an object that the schema does not
 * know (zod's objects strip them without a word). Walked in step, wherever both sides are plain objects or arrays of
 * one length; a record or loose object keeps every key, so its content is never reported. Each as a path, at most `max`.
 */
export function unknownFields(input: unknown, parsed: unknown, max = 5): Array<(string | number)[]> {
  const found: Array<(string | number)[]> = [];
  const stack: Array<{ input: unknown; parsed: unknown; path: (string | number)[] }> = [{ input, parsed, path: [] }];
  while (stack.length && found.length < max) {
    const at = stack.pop()!;
    // The same value on both sides (a loose object, a record, a string): nothing was dropped below it.
    if (at.input === at.parsed || typeof at.input !== 'object' || at.input === null || typeof at.parsed !== 'object' || at.parsed === null) continue;
    if (Array.isArray(at.input)) {
      if (Array.isArray(at.parsed) && at.parsed.length === at.input.length)
        at.input.forEach((v, i) => stack.push({ input: v, parsed: (at.parsed as unknown[])[i], path: [...at.path, i] }));
      continue;
    }
    if (Array.isArray(at.parsed)) continue;
    const kept = at.parsed as Record<string, unknown>;
    for (const [key, value] of Object.entries(at.input)) {
      if (!Object.prototype.hasOwnProperty.call(kept, key)) {
        // A field sent as undefined is not in JSON: only a programmatic caller sends one, and it says nothing.
        if (value !== undefined && found.length < max) found.push([...at.path, key]);
      } else stack.push({ input: value, parsed: kept[key], path: [...at.path, key] });
    }
  }
  return found;
}

/**
 * `schema.safeParse(value)`, and a field the schema does not know is an error too, named with its path (and the field it
 * may have meant: `Context` for `context`). For what parties outside Countersign send (request bodies, agents'
 * submissions): a misspelt field must not be dropped in silence, as a misspelt `context` would drop the flags that send
 * an action to review. Countersign's own events are read tolerantly (a newer producer may add a field).
 */
export function parseKnownFields<S extends z.ZodType>(schema: S, value: unknown): z.ZodSafeParseResult<z.output<S>> {
  const result = schema.safeParse(value) as z.ZodSafeParseResult<z.output<S>>;
  if (!result.success) return result;
  const unknown = unknownFields(value, result.data);
  if (!unknown.length) return result;
  // The fields it knows: those of the parsed object beside it (defaults included), and at the top the schema's own.
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  const known = (path: (string | number)[]) => [
    ...Object.keys(objectAt(path.slice(0, -1), result.data) ?? {}),
    ...(path.length === 1 && shape && typeof shape === 'object' ? Object.keys(shape) : []),
  ];
  // A key is named at most 64 characters long: an answer does not echo a whole body back.
  const shown = (k: string | number) => (typeof k === 'string' && k.length > 64 ? `${k.slice(0, 63)}…` : k);
  const issues = unknown.map((path) => ({
    code: 'custom' as const,
    path: path.map(shown),
    message: unknownFieldMessage(String(path[path.length - 1]), known(path)),
    input: undefined,
  }));
  return { success: false, error: new ZodError(issues) } as z.ZodSafeParseResult<z.output<S>>;
}

/** "unknown field", with a known field of the same object that differs only in case (or `_`/`-`) as a hint. */
function unknownFieldMessage(key: string, known: string[]): string {
  const fold = (k: string) => k.toLowerCase().replace(/[-_]/g, '');
  const meant = known.find((k) => k !== key && fold(k) === fold(key));
  return meant ? `unknown field (did you mean ${meant}?)` : 'unknown field';
}

/** The object at `path` in a parsed value, if there is one. */
function objectAt(path: (string | number)[], root: unknown): Record<string, unknown> | undefined {
  let at: unknown = root;
  for (const step of path) at = at && typeof at === 'object' ? (at as Record<string | number, unknown>)[step] : undefined;
  return at && typeof at === 'object' && !Array.isArray(at) ? (at as Record<string, unknown>) : undefined;
}

/**
 * The name among `known` that `name` most likely meant: one at most two edits away (a letter missing, doubled, swapped or
 * mistyped; another script's look-alike letter counts as one), the closest first; undefined when none is that close or two
 * are equally close. For "did you mean" in messages about a name that names nothing.
 */
export function closestName(name: string, known: Iterable<string>): string | undefined {
  const most = 2;
  let best: string | undefined;
  let bestDistance = most + 1;
  let tied = false;
  for (const k of known) {
    if (k === name || Math.abs(k.length - name.length) > most) continue;
    const d = editDistance(name, k, most + 1);
    if (d < bestDistance) [best, bestDistance, tied] = [k, d, false];
    else if (d === bestDistance && d <= most) tied = true;
  }
  return tied ? undefined : best;
}

/** Levenshtein distance with adjacent swaps as one edit, given up at `bound` (returns `bound` then). */
function editDistance(a: string, b: string, bound: number): number {
  let [prev2, prev, row] = [[] as number[], Array.from({ length: b.length + 1 }, (_, j) => j), [] as number[]];
  for (let i = 1; i <= a.length; i++) {
    row = [i];
    let least = i;
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      row.push(d);
      least = Math.min(least, d);
    }
    if (least >= bound) return bound;
    [prev2, prev] = [prev, row];
  }
  return Math.min(prev[b.length], bound);
}
