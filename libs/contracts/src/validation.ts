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
