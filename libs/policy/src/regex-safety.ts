import { parse } from 'regjsparser';
import type { AstNode, Quantifier, RootNode } from 'regjsparser';

/**
 * Whether a contract's pattern can take exponential time on an input made for it (ReDoS), read from its syntax tree:
 * JavaScript's regular expressions backtrack, and a pattern such as `(?:[a-z ]+)*x` froze the policy engine's event loop
 * for seconds on one reply (red team, 2026-12-04). The contract's patterns run on every decision, on text an agent
 * writes, so a contract that holds one is refused before it can be approved.
 *
 * Refused, inside a repetition (`*`, `+`, `{n,}`, `{n,m}` with m > 1):
 * - another repetition, when one of the two is unbounded (`(a+)+`, `(\w+\s?)*`, `(x{1,9})+`), or when both are bounded
 *   and their rounds can split a text in more than 4,096 ways (`(?:a{1,25}){1,25}`), unless each round also ends with a
 *   character the inner part cannot match;
 * - alternatives that can begin with the same character (`(a|a)*`, `(\w|\d)+`);
 * unless each round of the outer repetition begins with a character that nothing repeated inside it can match: then the
 * rounds cannot be split two ways (`(/[a-z0-9_][a-z0-9._-]*)*`, a path of segments, is safe).
 *
 * Conservative on what it cannot tell (a class of non-ASCII letters, a back-reference): it refuses rather than guess,
 * and says which part of the pattern to rewrite. Characters are compared in ASCII, case-insensitively, as the contract's
 * conditions match.
 */
export function backtrackingRisk(pattern: string): string | undefined {
  let root: RootNode<typeof FEATURES>;
  try {
    root = parse(pattern, '', FEATURES);
  } catch {
    return undefined; // not a pattern this parser reads: compiling it says what is wrong
  }
  return walk(root, undefined) ?? lookaroundRisk(root, !anchoredAtStart(root));
}

const FEATURES = { lookbehind: true, namedGroups: true, unicodePropertyEscape: true } as const;
type Node = AstNode<typeof FEATURES>;

const repeats = (q: Quantifier<typeof FEATURES>) => q.max === undefined || q.max > 1;

/**
 * A bounded repetition inside a bounded one (`(?:a{1,25}){1,25}`) tries each way of cutting a run into rounds: as many
 * as the inner part's lengths to the power of the outer bound. Exponential in the bounds though bounded: that one took
 * 109 s on 61 characters, in the contract checker, and froze an embedded home for 90 s once approved (red team,
 * 2026-12-07: only an unbounded one of the two was refused). Refused past this many ways, unless each round begins or
 * ends with a character its repeated part cannot match (`(?:[a-z0-9-]{1,63}\.){1,8}`: a run of labels splits one way).
 */
const MAX_BOUNDED_SPLITS = 4096;
const boundedSplits = (inner: Quantifier<typeof FEATURES>, outer: Quantifier<typeof FEATURES>) => (inner.max! - inner.min + 1) ** outer.max!;

/** An unbounded repetition anywhere under `node` (`*`, `+`, `{n,}`), or undefined. */
function unbounded(node: Node): Quantifier<typeof FEATURES> | undefined {
  if (node.type === 'quantifier' && node.max === undefined) return node;
  for (const child of childrenOf(node)) {
    const found = unbounded(child);
    if (found) return found;
  }
  return undefined;
}

const isLookaround = (node: Node): boolean => node.type === 'group' && node.behavior !== 'normal' && node.behavior !== 'ignore';

/**
 * A look-around tried at many places that holds an unbounded repetition, or undefined. Tried at every place the pattern
 * reaches it, such a repetition reads on to the end of what it matches each time: a crafted text of such places costs its
 * length squared (red team, 2026-12-07: a reply of `pw-` 16,000 times took 5–12 s to decide against `(?=[^\s]*[0-9])`
 * after `pw`). `many`: whether the pattern reaches this node at many places: anywhere in a pattern not anchored at its
 * start, and after or inside a repetition in one that is (`^report-(?!.*__)` is tried once).
 */
function lookaroundRisk(node: Node, many: boolean): string | undefined {
  if (many && isLookaround(node)) {
    const repetition = unbounded(node);
    if (repetition)
      return `\`${repetition.raw}\` repeats without bound inside a look-around the pattern tries at every place: it reads on to the end of a run each time, a crafted text's length squared (bound it, e.g. \`{0,64}\`)`;
  }
  if (node.type === 'alternative') {
    let after = many;
    let repetition: Quantifier<typeof FEATURES> | undefined;
    for (const child of node.body as Node[]) {
      // A character the repetition before cannot match pins where the rest is tried (`^[a-z./-]*#(?!…)`: at the `#`).
      if (repetition && child.type === 'value' && !mayMatch(repetition.body[0], String.fromCodePoint(child.codePoint))) {
        after = many;
        repetition = undefined;
      }
      const risk = lookaroundRisk(child, after);
      if (risk) return risk;
      if (child.type === 'quantifier' && repeats(child)) {
        after = true;
        repetition = child;
      }
    }
    return undefined;
  }
  if (node.type === 'quantifier') return lookaroundRisk(node.body[0], many || repeats(node));
  for (const child of childrenOf(node)) {
    const risk = lookaroundRisk(child, many);
    if (risk) return risk;
  }
  return undefined;
}

/** Whether every alternative of the pattern begins with `^`: it is tried at the start of the text only. */
function anchoredAtStart(root: Node): boolean {
  const alternatives = root.type === 'disjunction' ? (root.body as Node[]) : [root];
  return alternatives.every((a) => {
    const first = a.type === 'alternative' ? (a.body as Node[])[0] : a;
    return first?.type === 'anchor' && first.kind === 'start';
  });
}

function walk(node: Node, outer: Quantifier<typeof FEATURES> | undefined): string | undefined {
  if (node.type === 'alternative') {
    const risk = adjacentRepetitions(node.body as Node[]);
    if (risk) return risk;
  }
  if (node.type === 'quantifier') {
    if (repeats(node)) {
      if (outer && (outer.max === undefined || node.max === undefined) && !delimited(outer))
        return `\`${node.raw}\` repeats inside \`${outer.raw}\`, which repeats too: a crafted text makes it try exponentially many ways (rewrite it with one repetition, or begin each round with a character the inner part cannot match)`;
      if (
        outer &&
        outer.max !== undefined &&
        node.max !== undefined &&
        boundedSplits(node, outer) > MAX_BOUNDED_SPLITS &&
        !delimited(outer) &&
        !terminated(outer)
      )
        return `\`${node.raw}\` repeats inside \`${outer.raw}\`: bounded, but its rounds can split a text in up to ${node.max - node.min + 1}^${outer.max} ways, each tried on a crafted text (rewrite it with one repetition, or begin or end each round with a character the inner part cannot match)`;
      const overlap = overlappingAlternatives(node.body[0]);
      if (overlap && !delimited(node))
        return `\`${node.raw}\` repeats alternatives that can begin with the same character (${overlap}): a crafted text makes it try exponentially many ways (make the alternatives begin differently)`;
      return walk(node.body[0], node);
    }
    return walk(node.body[0], outer);
  }
  for (const child of childrenOf(node)) {
    const risk = walk(child, outer);
    if (risk) return risk;
  }
  return undefined;
}

function childrenOf(node: Node): Node[] {
  switch (node.type) {
    case 'alternative':
    case 'disjunction':
    case 'group':
      return node.body as Node[];
    case 'quantifier':
      return [node.body[0]];
    default:
      return [];
  }
}

/** Each round of `q` begins with one literal character that nothing repeated inside `q` can match. */
function delimited(q: Quantifier<typeof FEATURES>): boolean {
  return unmatchedByRepeats(q, firstAtom(q.body[0]));
}

/** Each round of `q` ends with one literal character that nothing repeated inside `q` can match. */
function terminated(q: Quantifier<typeof FEATURES>): boolean {
  return unmatchedByRepeats(q, lastAtom(q.body[0]));
}

/** `atom` is one literal character that nothing repeated inside `q` can match. */
function unmatchedByRepeats(q: Quantifier<typeof FEATURES>, atom: Node | undefined): boolean {
  if (atom?.type !== 'value') return false;
  const c = String.fromCodePoint(atom.codePoint);
  const repeated: Node[] = [];
  const collect = (n: Node, inside: boolean) => {
    if (n.type === 'quantifier') return collect(n.body[0], inside || repeats(n));
    if (inside && isLeaf(n)) repeated.push(n);
    childrenOf(n).forEach((child) => collect(child, inside));
  };
  collect(q.body[0], false);
  return repeated.every((leaf) => !mayMatch(leaf, c));
}

/**
 * Two unbounded repetitions in one sequence that can match the same character, with nothing between them that the
 * first cannot match too: `.*.*`, `\s*\s*`, `a.*b.*c`, `refund.*because.*promise`. Each way of splitting a run between
 * them is tried, at each start: not exponential, but polynomial. `refund.*.*.*promise` took 63 s on one reply of 6,000
 * characters (operator CLI probe, 2026-12-06); `refund.*because.*promise` 6.8 s on 16,000 characters of "refund
 * because", and `a.*b.*c` 4.5 s on 4,000 of "ab" (2026-12-07): what lies between them (`because`) is one more place to
 * split the run at. Refused, naming both. Where something between them is a character the first cannot match (`@` in
 * `[a-z.]*@[a-z.]*`), a run has one way to split.
 */
function adjacentRepetitions(sequence: Node[]): string | undefined {
  for (let i = 0; i < sequence.length; i++) {
    const first = sequence[i];
    if (first.type !== 'quantifier' || first.max !== undefined) continue;
    for (let j = i + 1; j < sequence.length; j++) {
      const next = sequence[j];
      if (next.type === 'quantifier' && next.max === undefined) {
        const shared = sharedCharacter(first, next);
        if (shared !== undefined) {
          const between = sequence.slice(i + 1, j).filter((n) => !mayBeEmpty(n));
          const what = between.length
            ? `with only \`${between.map((n) => n.raw).join('')}\` between them, which the first can match too, `
            : 'one after the other ';
          return `\`${first.raw}\` and \`${next.raw}\` repeat ${what}and can both match ${JSON.stringify(shared)}: a long run of it is split between them every way, at every start, which takes polynomial time (join them into one repetition, bound the first (\`{0,100}\`), or put a character between them that the first cannot match)`;
        }
      }
      // Past something the first cannot run over, a run has one way to split.
      if (!swallowed(next, first)) break;
    }
  }
  return undefined;
}

/**
 * Whether some text `node` matches is text the unbounded repetition `q` can match too (so `q` can run over it, and a
 * run split around it has as many ways as one with nothing there). What cannot be told counts as swallowed.
 */
function swallowed(node: Node, q: Quantifier<typeof FEATURES>): boolean {
  if (mayBeEmpty(node)) return true;
  if (isLeaf(node)) return commonCharacter([node], leavesOf(q.body[0])) !== undefined;
  if (node.type === 'disjunction') return (node.body as Node[]).some((n) => swallowed(n, q));
  if (node.type === 'quantifier') return swallowed(node.body[0], q);
  if (node.type === 'group' || node.type === 'alternative') return (node.body as Node[]).every((n) => swallowed(n, q));
  return true;
}

const leavesOf = (n: Node): Node[] => (isLeaf(n) ? [n] : childrenOf(n).flatMap(leavesOf));

/** Whether a node may match no text (an optional part, a lookaround, an anchor, an empty group). */
function mayBeEmpty(node: Node): boolean {
  if (node.type === 'quantifier') return node.min === 0 || mayBeEmpty(node.body[0]);
  if (node.type === 'anchor' || (node.type === 'group' && node.behavior !== 'normal' && node.behavior !== 'ignore')) return true;
  if (node.type === 'group' || node.type === 'alternative') return (node.body as Node[]).every(mayBeEmpty);
  if (node.type === 'disjunction') return (node.body as Node[]).some(mayBeEmpty);
  return false;
}

/**
 * An ASCII character that something repeated in `a` can match and that `b`'s rounds can begin with, if any: where `b`
 * must begin with a character `a` cannot match (`[a-z-]*(/[a-z-]*)*`), a run has one way to split. What `b` begins
 * with, when it cannot be told, is anything inside it.
 */
function sharedCharacter(a: Quantifier<typeof FEATURES>, b: Quantifier<typeof FEATURES>): string | undefined {
  const begins = firstAtom(b.body[0]);
  return commonCharacter(leavesOf(a.body[0]), begins ? [begins] : leavesOf(b.body[0]));
}

/** A printable ASCII character that one of `left` and one of `right` can both match, if any. */
function commonCharacter(left: Node[], right: Node[]): string | undefined {
  for (let cp = 32; cp < 127; cp++) {
    const c = String.fromCharCode(cp);
    if (left.some((l) => mayMatch(l, c)) && right.some((r) => mayMatch(r, c))) return c;
  }
  return undefined;
}

/** The first thing a node must match, when it is one plain atom (a group's, an alternative's first). */
function firstAtom(node: Node): Node | undefined {
  if (isLeaf(node)) return node;
  if (node.type === 'alternative') return node.body.length ? firstAtom(node.body[0] as Node) : undefined;
  // A group's body is its sequence (or one disjunction, which has no single first atom); a lookaround matches no text.
  if (node.type === 'group' && (node.behavior === 'normal' || node.behavior === 'ignore'))
    return node.body.length ? firstAtom(node.body[0] as Node) : undefined;
  if (node.type === 'quantifier' && node.min >= 1) return firstAtom(node.body[0]);
  return undefined;
}

/** The last character a match of `node` always ends with, when one leaf sets it (as `firstAtom`, from the end). */
function lastAtom(node: Node): Node | undefined {
  if (isLeaf(node)) return node;
  if (node.type === 'alternative') return node.body.length ? lastAtom(node.body[node.body.length - 1] as Node) : undefined;
  if (node.type === 'group' && (node.behavior === 'normal' || node.behavior === 'ignore'))
    return node.body.length ? lastAtom(node.body[node.body.length - 1] as Node) : undefined;
  if (node.type === 'quantifier' && node.min >= 1) return lastAtom(node.body[0]);
  return undefined;
}

/** Two alternatives of a disjunction directly inside `node` (through groups) that can begin with one character, named. */
function overlappingAlternatives(node: Node): string | undefined {
  let inner: Node = node;
  while (inner.type === 'group' && inner.body.length === 1) inner = inner.body[0] as Node;
  if (inner.type !== 'disjunction') return undefined;
  const alternatives = inner.body as Node[];
  for (let i = 0; i < alternatives.length; i++)
    for (let j = i + 1; j < alternatives.length; j++) {
      const [a, b] = [firstAtom(alternatives[i]), firstAtom(alternatives[j])];
      // What cannot be told (an empty alternative, one beginning with a lookaround or an optional part) counts as overlapping.
      if (!a || !b) return `\`${alternatives[i].raw}\` and \`${alternatives[j].raw}\``;
      for (let cp = 0; cp < 128; cp++) {
        const c = String.fromCharCode(cp);
        if (mayMatch(a, c) && mayMatch(b, c)) return `\`${alternatives[i].raw}\` and \`${alternatives[j].raw}\` both begin with ${JSON.stringify(c)}`;
      }
    }
  return undefined;
}

const LEAVES = new Set(['value', 'characterClass', 'characterClassEscape', 'dot', 'unicodePropertyEscape', 'reference']);
const isLeaf = (n: Node) => LEAVES.has(n.type);

/** Whether one atom can match the character `c` (ASCII, either case); true when it cannot be told. */
function mayMatch(atom: Node, c: string): boolean {
  if (atom.type === 'reference') return true;
  try {
    const re = new RegExp(`^(?:${atom.raw})$`, atom.type === 'unicodePropertyEscape' ? 'iu' : 'i');
    return re.test(c) || re.test(c.toUpperCase()) || re.test(c.toLowerCase());
  } catch {
    return true;
  }
}
