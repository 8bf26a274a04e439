import { CompactRange, entryJson, isTreePosition, leafBinaryOfText } from './merkle';
import type { VerifyKey } from '@countersign/keys';
import { TreeHead, treeHeadFormProblem, verifyTreeHead } from './tree-head';

/**
 * One entry of the log as stored and exported: its index, the entry and its recorded leaf hash (entries
 * appended before ADR 0029 also carry the tree root after them). The entry itself carries its `index`
 * (hashed with it), so a row moved elsewhere fails. Roots live in the signed tree heads.
 */
export interface LoggedEntry {
  index: number;
  /** The entry object (hashed as its canonical JSON), or… */
  entry?: unknown;
  /** …its canonical JSON exactly as hashed, when the store keeps it (no re-canonicalising needed). */
  bytes?: string;
  /** Hex leaf hash recorded at append time: the fast per-entry check. */
  leafHash?: string;
  /**
   * Hex root of the tree of entries 0..index, recorded when it was appended by writers before ADR 0029 (and in
   * version 1 segments); checked when no leaf hash is. Newer entries leave it out: the signed heads carry the roots.
   */
  root?: string;
}

/** Where a segment starts: the compact range of the entries before it (empty for a segment from 0). */
export interface SegmentPrefix {
  size: number;
  hashes: string[];
}

export type VerifyResult = { ok: true; treeSize: number; root: string; headsChecked: number } | { ok: false; firstBadIndex: number; problem: string };

// Where a recorded hex hash is decoded and a computed one written, to be compared (reused: nothing allocated per entry).
const recorded = Buffer.alloc(32);
const computed = Buffer.alloc(32);

/**
 * Whether `hex` is exactly the hash `binary` (32 characters, latin1) in lower-case hex, as `toString('hex')` writes
 * it, without encoding the hash.
 */
function isHexOf(binary: string, hex: unknown): boolean {
  if (typeof hex !== 'string' || hex.length !== 64 || binary.length !== 32)
    return typeof hex === 'string' && Buffer.from(binary, 'latin1').toString('hex') === hex;
  if (recorded.write(hex, 'hex') !== 32) return false;
  computed.write(binary, 'latin1');
  if (!computed.equals(recorded)) return false;
  // The decoder also reads upper case: the recorded text must be the lower-case form.
  for (let i = 0; i < 64; i++) {
    const c = hex.charCodeAt(i);
    if (c >= 65 && c <= 70) return false;
  }
  return true;
}

/**
 * Verifies entries against their recorded roots and the signed tree heads, in one pass:
 * - an entry whose index is not the next one: deleted, inserted or reordered entries (an index that
 *   appears twice is named by that index: where the entry was inserted);
 * - an entry whose recomputed root differs from the root recorded for it: a modified entry (or one moved);
 * - a head with a bad signature, or whose root the entries do not reproduce: a forged head or a rewritten log;
 * - fewer entries than the last head covers: truncation, once the heads past the end have verified (a
 *   forged head past the end is a forged head, not a truncation).
 * The first problem wins, named by its index. Heads must cover the last entry.
 */
export function verifyEntries(
  entries: Iterable<LoggedEntry>,
  heads: readonly TreeHead[],
  keys: readonly VerifyKey[],
  prefix: SegmentPrefix = { size: 0, hashes: [] },
): VerifyResult {
  const verifier = new ChainVerifier(heads, keys, prefix);
  for (const e of entries) {
    const problem = verifier.push(e);
    if (problem) return problem;
  }
  return verifier.finish();
}

/**
 * The same check, one entry at a time, for logs too large to hold at once (the database, long files):
 * `push` each entry in order (it returns the first problem), then `finish`.
 */
export class ChainVerifier {
  private readonly range: CompactRange;
  private readonly bySize = new Map<number, TreeHead[]>();
  private readonly lastHead: number | undefined;
  private expected: number;
  private headsChecked = 0;
  private failed?: VerifyResult & { ok: false };

  constructor(
    heads: readonly TreeHead[],
    private readonly keys: readonly VerifyKey[],
    private readonly prefix: SegmentPrefix = { size: 0, hashes: [] },
  ) {
    this.range = CompactRange.restore(prefix);
    this.expected = prefix.size;
    const malformed = heads.map(treeHeadFormProblem).find(Boolean);
    if (malformed) {
      this.failed = { ok: false, firstBadIndex: prefix.size, problem: malformed };
      return;
    }
    for (const h of heads) {
      const same = this.bySize.get(h.treeSize);
      if (same) same.push(h);
      else this.bySize.set(h.treeSize, [h]);
    }
    const sizes = [...this.bySize.keys()].sort((a, b) => a - b);
    this.lastHead = sizes[sizes.length - 1];
    const early = sizes.find((s) => s <= prefix.size);
    if (early !== undefined) {
      const forged = this.forgedAmong(early);
      const problem = forged ?? `tree head of size ${early} lies before this segment (from ${prefix.size})`;
      this.failed = { ok: false, firstBadIndex: Math.max(0, early - 1), problem };
    }
  }

  get verified(): number {
    return this.expected;
  }

  push(e: LoggedEntry): (VerifyResult & { ok: false }) | undefined {
    if (this.failed) return this.failed;
    const fail = this.fail;
    if (!isTreePosition(e.index)) {
      return fail(this.expected, `the entry at position ${this.expected} has no valid index (${JSON.stringify(e.index) ?? 'none'})`);
    }
    if (e.index > this.expected) return fail(this.expected, `entry ${this.expected} is missing (found ${e.index})`);
    // An index seen before: the entry claiming it again was inserted (or repeated) there. Blaming the
    // position where it showed up would name the genuine entry after an inserted one.
    if (e.index < this.expected) {
      return fail(e.index, `entry ${e.index} appears twice (again at position ${this.expected}): an entry was inserted or repeated at ${e.index}`);
    }
    let leaf: string;
    if (e.bytes !== undefined) {
      if (!e.bytes.startsWith(`{"_index":${e.index},`))
        return fail(e.index, `entry ${e.index} says it is entry ${/^\{"_index":(\d+)/.exec(e.bytes)?.[1] ?? '(none)'}: moved`);
      leaf = leafBinaryOfText(e.bytes);
    } else {
      const claimed = (e.entry as { _index?: unknown })?._index;
      if (claimed !== undefined && claimed !== e.index) return fail(e.index, `entry ${e.index} says it is entry ${String(claimed)}: moved`);
      leaf = leafBinaryOfText(entryJson(e.entry));
    }
    this.range.appendBinary(leaf);
    if (e.leafHash !== undefined) {
      if (!isHexOf(leaf, e.leafHash)) return fail(e.index, `entry ${e.index} does not match its recorded leaf hash: modified`);
    } else if (e.root === undefined || this.range.root().toString('hex') !== e.root) {
      // Neither a leaf hash nor a root recorded: nothing vouches for this entry on its own.
      return fail(e.index, `entry ${e.index} does not reproduce its recorded root: modified, or moved`);
    }
    const heads = this.bySize.get(this.range.size);
    const root = heads ? this.range.root().toString('hex') : '';
    for (const head of heads ?? []) {
      const check = verifyTreeHead(head, this.keys);
      if (!check.ok) return fail(e.index, check.problem);
      if (head.rootHash !== root)
        return fail(e.index, `the signed tree head of size ${head.treeSize} does not match the log: entries up to ${e.index} were rewritten`);
      this.headsChecked++;
    }
    this.expected++;
    return undefined;
  }

  // A bound method, made once (not a closure per entry): records and returns the first problem.
  private readonly fail = (firstBadIndex: number, problem: string): VerifyResult & { ok: false } => (this.failed = { ok: false, firstBadIndex, problem });

  finish(): VerifyResult {
    if (this.failed) return this.failed;
    const last = this.lastHead;
    // Heads past the end are verified too: a forged one is a forged head, not a mere truncation.
    for (const size of [...this.bySize.keys()].filter((s) => s > this.expected).sort((a, b) => a - b)) {
      const forged = this.forgedAmong(size);
      if (forged) return { ok: false, firstBadIndex: this.expected, problem: forged };
    }
    if (last === undefined)
      return { ok: false, firstBadIndex: Math.max(this.prefix.size, this.expected - 1), problem: 'no signed tree head covers these entries' };
    if (last > this.expected)
      return { ok: false, firstBadIndex: this.expected, problem: `truncated: the signed tree head covers ${last} entries, only ${this.expected} are present` };
    if (last < this.expected) return { ok: false, firstBadIndex: last, problem: `entries from ${last} on are not covered by any signed tree head` };
    return { ok: true, treeSize: this.expected, root: this.range.root().toString('hex'), headsChecked: this.headsChecked };
  }

  /** The problem with the first head of this size whose signature (key, window) does not verify. */
  private forgedAmong(size: number): string | undefined {
    for (const head of this.bySize.get(size) ?? []) {
      const check = verifyTreeHead(head, this.keys);
      if (!check.ok) return check.problem;
    }
    return undefined;
  }
}

/**
 * The segment format this exporter writes. Version 2 (ADR 0029): each entry line carries its leaf hash and no
 * tree root (roots are in the heads; an entry recorded with a root only keeps it). Version 1 lines carried
 * both; `verifySegment` reads either version.
 */
export const SEGMENT_VERSION = 2;
const READABLE_SEGMENT_VERSIONS: readonly unknown[] = [1, 2];

/**
 * A signed segment file: JSON Lines — a header with the prefix, one line per entry, and the tree heads
 * (each after the entry that completes it). Verifiable offline with the heads' public keys.
 */
export function exportSegment(entries: readonly LoggedEntry[], heads: readonly TreeHead[], prefix: SegmentPrefix = { size: 0, hashes: [] }): string {
  const lines = [JSON.stringify({ kind: 'segment', version: SEGMENT_VERSION, prefix })];
  const bySize = new Map<number, TreeHead[]>();
  for (const h of heads) bySize.set(h.treeSize, [...(bySize.get(h.treeSize) ?? []), h]);
  for (const e of entries) {
    const entry = e.entry ?? JSON.parse(e.bytes!);
    lines.push(
      JSON.stringify(
        e.leafHash !== undefined ? { kind: 'entry', index: e.index, leafHash: e.leafHash, entry } : { kind: 'entry', index: e.index, root: e.root, entry },
      ),
    );
    for (const h of bySize.get(e.index + 1) ?? []) lines.push(JSON.stringify({ kind: 'head', treeHead: h }));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Verifies a segment file's text (see `exportSegment`). `trustedHeads` are heads kept elsewhere (the
 * append-only head store): they catch a segment cut short exactly at one of its own heads.
 */
export function verifySegment(text: string, keys: readonly VerifyKey[], trustedHeads: readonly TreeHead[] = []): VerifyResult {
  const lines = text.split('\n').filter((l) => l.trim());
  let header: { kind: string; version: number; prefix: SegmentPrefix };
  try {
    header = JSON.parse(lines[0] ?? '');
  } catch {
    return { ok: false, firstBadIndex: 0, problem: 'not a segment file: the header line does not parse' };
  }
  if (header?.kind !== 'segment' || !READABLE_SEGMENT_VERSIONS.includes(header.version))
    return { ok: false, firstBadIndex: 0, problem: 'not a version 1 or 2 segment file' };
  try {
    CompactRange.restore(header.prefix);
  } catch (e) {
    return { ok: false, firstBadIndex: 0, problem: `not a segment file: its prefix is malformed (${(e as Error).message})` };
  }
  const entries: LoggedEntry[] = [];
  const heads: TreeHead[] = [];
  for (const line of lines.slice(1)) {
    let parsed: { kind: string; index: number; leafHash?: string; root?: string; entry: unknown; treeHead: TreeHead };
    try {
      parsed = JSON.parse(line);
    } catch {
      return {
        ok: false,
        firstBadIndex: header.prefix.size + entries.length,
        problem: `the line after entry ${header.prefix.size + entries.length - 1} does not parse`,
      };
    }
    if (parsed.kind === 'entry') entries.push({ index: parsed.index, leafHash: parsed.leafHash, root: parsed.root, entry: parsed.entry });
    else if (parsed.kind === 'head') heads.push(parsed.treeHead);
  }
  const known = new Set(heads.map((h) => JSON.stringify(h)));
  return verifyEntries(
    entries,
    [...heads, ...trustedHeads.filter((h) => h.treeSize > header.prefix.size && !known.has(JSON.stringify(h)))],
    keys,
    header.prefix,
  );
}
