/**
 * The contract's small, deterministic condition language:
 * `{ field: "parameters.amount", gt: 200 }`, `{ all: [...] }`, `{ any: [...] }`, `{ not: {...} }`,
 * with ops eq, ne, gt, gte, lt, lte, in, exists, matches. Compiled once to closures.
 */
export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | ({ field: string } & Partial<Record<'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'exists' | 'matches', unknown>>);

export type Predicate = (input: Record<string, unknown>) => boolean;

const OPS = ['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'exists', 'matches'] as const;

/** Reads `a.b.c` from the input; undefined when any step is missing. */
export function readPath(input: unknown, path: string[]): unknown {
  let v: unknown = input;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

export function compileCondition(c: Condition): Predicate {
  if ('all' in c) {
    const parts = c.all.map(compileCondition);
    return (i) => parts.every((p) => p(i));
  }
  if ('any' in c) {
    const parts = c.any.map(compileCondition);
    return (i) => parts.some((p) => p(i));
  }
  if ('not' in c) {
    const inner = compileCondition(c.not);
    return (i) => !inner(i);
  }
  const path = c.field.split('.');
  const tests: Array<(v: unknown) => boolean> = [];
  for (const op of OPS) {
    if (!(op in c)) continue;
    const arg = (c as Record<string, unknown>)[op];
    switch (op) {
      case 'eq':
        tests.push((v) => v === arg);
        break;
      case 'ne':
        tests.push((v) => v !== arg);
        break;
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
        const set = new Set(arg as unknown[]);
        tests.push((v) => (Array.isArray(v) ? v.some((x) => set.has(x)) : set.has(v)));
        break;
      }
      case 'exists':
        tests.push((v) => (v !== undefined && v !== null) === arg);
        break;
      case 'matches': {
        const re = new RegExp(arg as string);
        tests.push((v) => typeof v === 'string' && re.test(v));
        break;
      }
    }
  }
  return (i) => {
    const v = readPath(i, path);
    return tests.every((t) => t(v));
  };
}
