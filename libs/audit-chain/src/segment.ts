import { CompactRange, entryJson, isTreePosition, leafBinaryOfText } from './merkle';
import { MAX_JSON_BYTES, MAX_JSON_DEPTH, parseStrictJson } from '@countersign/contracts';
import type { VerifyKey } from '@countersign/keys';
import { keyFingerprint, TreeHead, treeHeadFormProblem, verifyTreeHead } from './tree-head';

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
  /**
   * The time the store shows beside the entry (the audit file's and the API's `recordedAt`). An entry that hashes its
   * own (`_recordedAt`, written since 2026-12-02) must show that one; an older entry's is not covered by the hash.
   */
  recordedAt?: string;
}

/** The `_recordedAt` canonical JSON puts right after `_index` (both sort before every other field). */
const HASHED_RECORDED_AT = /^\{"_index":\d+,"_recordedAt":("(?:[^"\\]|\\.)*")/;

/**
 * The cheap check of the common case, in the bytes as hashed: right after `_index`, `_recordedAt` is `shown` (as canonical
 * JSON writes an ISO time: no escapes). False sends the caller to `hashedRecordedAt` (no `_recordedAt`, or another one).
 */
function showsHashedTime(e: LoggedEntry, shown: string): boolean {
  if (e.bytes === undefined) return (e.entry as { _recordedAt?: unknown } | undefined)?._recordedAt === shown;
  const at = `{"_index":${e.index},"_recordedAt":"`.length;
  return e.bytes.startsWith(shown, at) && e.bytes.charCodeAt(at + shown.length) === 34 && e.bytes.startsWith('"_recordedAt":"', at - 15);
}

/** The time an entry hashes as its `_recordedAt`, if it has one. */
function hashedRecordedAt(e: LoggedEntry): unknown {
  if (e.bytes === undefined) return (e.entry as { _recordedAt?: unknown } | undefined)?._recordedAt;
  const m = HASHED_RECORDED_AT.exec(e.bytes);
  return m ? JSON.parse(m[1]) : undefined;
}

/** Where a segment starts: the compact range of the entries before it (empty for a segment from 0). */
export interface SegmentPrefix {
  size: number;
  hashes: string[];
}

/** A key that signed heads a verification accepted: its id, fingerprint (`keyFingerprint`), how many heads and when. */
export interface HeadSigner {
  keyId: string;
  fingerprint: string;
  heads: number;
  /** The earliest and the latest timestamp among those heads (ISO 8601, as signed). */
  first: string;
  last: string;
}

export type VerifyResult =
  | {
      ok: true;
      /** The size of the log verified: every entry before it is covered by `root`. */
      treeSize: number;
      root: string;
      headsChecked: number;
      signers: HeadSigner[];
      /**
       * The first entry that was present and checked one by one (0 but for a segment that starts later). The entries
       * before it are not in the segment: only its compact range stands for them, and so only the signed root vouches
       * for them, not a check of each.
       */
      checkedFrom: number;
    }
  | { ok: false; firstBadIndex: number; problem: string };

/** A tree size and its hex root, recorded outside the machine that keeps the log (`audit verify --head size:root`). */
export interface TreeAnchor {
  treeSize: number;
  rootHash: string;
}

/**
 * What a verification takes on trust, and what it must find besides the signed heads given to it.
 *
 * Without `pinned`, every key given verifies heads: whoever can add a key where the keys are read from (an embedded home's
 * `audit/keys/`) can rewrite the log and sign new heads over it. Without `anchors`, a log cut back to an earlier head,
 * with the later heads removed, verifies: it is a shorter log that every remaining head vouches for.
 */
export interface VerifyOptions {
  /** Fingerprints (`keyFingerprint`) of the keys whose heads are accepted: a head signed by any other key is refused. */
  pinned?: readonly string[];
  /** Sizes and roots recorded elsewhere: the log must be at least that long and have that root at each of those sizes. */
  anchors?: readonly TreeAnchor[];
  /**
   * Told of each entry, in order, once it is checked (its place and its leaf hash): for what a caller shows beside the
   * verdict (`audit verify` lists the entries that record a recovery). Not an input of the verdict.
   */
  onEntry?: (e: LoggedEntry) => void;
}

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
 *   forged head past the end is a forged head, not a truncation);
 * - with `options`: a head signed by a key that is not pinned, and a recorded size and root the log does not have.
 * The first problem wins, named by its index. Heads must cover the last entry.
 */
export function verifyEntries(
  entries: Iterable<LoggedEntry>,
  heads: readonly TreeHead[],
  keys: readonly VerifyKey[],
  prefix: SegmentPrefix = { size: 0, hashes: [] },
  options: VerifyOptions = {},
): VerifyResult {
  const verifier = new ChainVerifier(heads, keys, prefix, options);
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
  private readonly pinned?: ReadonlySet<string>;
  /** The anchors by size, and the size of the next one to reach (-1 when none is left): one comparison per entry. */
  private readonly anchors: TreeAnchor[];
  private nextAnchor = 0;
  private anchorAt = -1;
  private readonly signers = new Map<string, HeadSigner>();
  private readonly onEntry?: (e: LoggedEntry) => void;

  constructor(
    heads: readonly TreeHead[],
    private readonly keys: readonly VerifyKey[],
    private readonly prefix: SegmentPrefix = { size: 0, hashes: [] },
    options: VerifyOptions = {},
  ) {
    this.range = CompactRange.restore(prefix);
    this.expected = prefix.size;
    this.pinned = options.pinned && new Set(options.pinned);
    this.onEntry = options.onEntry;
    this.anchors = [...(options.anchors ?? [])].sort((a, b) => a.treeSize - b.treeSize);
    const malformed = heads.map(treeHeadFormProblem).find(Boolean) ?? this.anchors.map(anchorFormProblem).find(Boolean);
    if (malformed) {
      this.failed = { ok: false, firstBadIndex: prefix.size, problem: malformed };
      return;
    }
    for (const h of heads) {
      const same = this.bySize.get(h.treeSize);
      // A head given twice (a line repeated in a segment) is one head: it is checked, and counted, once.
      if (same?.some((o) => o.keyId === h.keyId && o.signature === h.signature && o.rootHash === h.rootHash && o.timestamp === h.timestamp)) continue;
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
      return;
    }
    const before = this.anchors.find((a) => a.treeSize < prefix.size);
    if (before) {
      const problem = `the recorded head ${before.treeSize}:${before.rootHash} lies before this segment (from ${prefix.size}): verify the whole log to check it`;
      this.failed = { ok: false, firstBadIndex: prefix.size, problem };
      return;
    }
    this.anchorAt = this.anchors[0]?.treeSize ?? -1;
    const problem = this.reachedAnchors(Math.max(0, prefix.size - 1));
    if (problem) this.failed = problem;
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
      // A root recorded beside the leaf hash (entries from before ADR 0029) is not vouched for by it: it must be the log's.
      if (e.root !== undefined && this.range.root().toString('hex') !== e.root)
        return fail(e.index, `entry ${e.index} records a root that is not the log's root there: its recorded root was edited`);
    } else if (e.root === undefined || this.range.root().toString('hex') !== e.root) {
      // Neither a leaf hash nor a root recorded: nothing vouches for this entry on its own.
      return fail(e.index, `entry ${e.index} does not reproduce its recorded root: modified, or moved`);
    }
    if (e.recordedAt !== undefined && !showsHashedTime(e, e.recordedAt)) {
      const hashed = hashedRecordedAt(e);
      if (hashed !== undefined && hashed !== e.recordedAt)
        return fail(
          e.index,
          `entry ${e.index} shows recordedAt ${JSON.stringify(e.recordedAt)}, but was hashed as recorded at ${JSON.stringify(hashed)}: its time was changed`,
        );
    }
    const heads = this.bySize.get(this.range.size);
    const root = heads ? this.range.root().toString('hex') : '';
    for (const head of heads ?? []) {
      const problem = this.headProblem(head);
      if (problem) return fail(e.index, problem);
      if (head.rootHash !== root)
        return fail(e.index, `the signed tree head of size ${head.treeSize} does not match the log: entries up to ${e.index} were rewritten`);
      this.signedBy(head);
      this.headsChecked++;
    }
    if (this.anchorAt === this.range.size) {
      const problem = this.reachedAnchors(e.index);
      if (problem) return problem;
    }
    this.expected++;
    this.onEntry?.(e);
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
    const unreached = this.anchors[this.nextAnchor];
    if (unreached) {
      const problem = `truncated: the recorded head ${unreached.treeSize}:${unreached.rootHash} covers ${unreached.treeSize} entries, only ${this.expected} are present`;
      return { ok: false, firstBadIndex: this.expected, problem };
    }
    if (last === undefined) return { ok: false, firstBadIndex: this.prefix.size, problem: 'no signed tree head covers these entries' };
    if (last > this.expected)
      return { ok: false, firstBadIndex: this.expected, problem: `truncated: the signed tree head covers ${last} entries, only ${this.expected} are present` };
    if (last < this.expected) return { ok: false, firstBadIndex: last, problem: `entries from ${last} on are not covered by any signed tree head` };
    return {
      ok: true,
      treeSize: this.expected,
      root: this.range.root().toString('hex'),
      headsChecked: this.headsChecked,
      signers: [...this.signers.values()],
      checkedFrom: this.prefix.size,
    };
  }

  /** The problem with the first head of this size whose signature (key, pin, window) does not verify. */
  private forgedAmong(size: number): string | undefined {
    for (const head of this.bySize.get(size) ?? []) {
      const problem = this.headProblem(head);
      if (problem) return problem;
    }
    return undefined;
  }

  /** What is wrong with a head's signature: its key not pinned (when keys are), unknown, out of its window, or a bad signature. */
  private headProblem(head: TreeHead): string | undefined {
    if (this.pinned) {
      const key = this.keys.find((k) => k.keyId === head.keyId);
      const print = key && keyFingerprint(key.publicKey);
      if (print && !this.pinned.has(print))
        return `tree head of size ${head.treeSize} (signed ${head.timestamp}) is signed by key ${head.keyId}, fingerprint ${print}, which is not pinned`;
    }
    const check = verifyTreeHead(head, this.keys);
    return check.ok ? undefined : check.problem;
  }

  private signedBy(head: TreeHead): void {
    const seen = this.signers.get(head.keyId);
    if (!seen) {
      const key = this.keys.find((k) => k.keyId === head.keyId)!;
      this.signers.set(head.keyId, { keyId: head.keyId, fingerprint: keyFingerprint(key.publicKey), heads: 1, first: head.timestamp, last: head.timestamp });
      return;
    }
    seen.heads++;
    if (Date.parse(head.timestamp) < Date.parse(seen.first)) seen.first = head.timestamp;
    if (Date.parse(head.timestamp) > Date.parse(seen.last)) seen.last = head.timestamp;
  }

  /** Checks every anchor of the size the log has now (`anchorAt`) against its root, and moves to the next size. */
  private reachedAnchors(index: number): (VerifyResult & { ok: false }) | undefined {
    if (this.anchorAt !== this.range.size) return undefined;
    const root = this.range.root().toString('hex');
    for (; this.anchors[this.nextAnchor]?.treeSize === this.range.size; this.nextAnchor++) {
      const anchor = this.anchors[this.nextAnchor];
      if (anchor.rootHash !== root)
        return this.fail(
          index,
          `the log's first ${anchor.treeSize} entries have root ${root}, not the recorded head's ${anchor.rootHash}: entries up to ${index} were rewritten`,
        );
    }
    this.anchorAt = this.anchors[this.nextAnchor]?.treeSize ?? -1;
    return undefined;
  }
}

/** What is wrong with an anchor's form (a size from 0 to 2^53 − 1 and a lower-case hex SHA-256 root), or undefined. */
function anchorFormProblem(anchor: TreeAnchor): string | undefined {
  if (!isTreePosition(anchor?.treeSize))
    return `the recorded head of size ${String(anchor?.treeSize)} is malformed: its size is not an integer from 0 to 2^53 - 1`;
  if (typeof anchor.rootHash !== 'string' || !/^[0-9a-f]{64}$/.test(anchor.rootHash))
    return `the recorded head of size ${anchor.treeSize} is malformed: its root is not a lower-case hex SHA-256`;
  return undefined;
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

/** The fields of the lines of a segment (`exportSegment`) and of a head: a verifier reads nothing it does not check. */
const ENTRY_LINE_FIELDS: readonly string[] = ['kind', 'index', 'leafHash', 'root', 'entry'];
const HEAD_LINE_FIELDS: readonly string[] = ['kind', 'treeHead'];
const HEADER_FIELDS: readonly string[] = ['kind', 'version', 'prefix'];
/** The fields of a signed tree head (`TreeHead`). */
export const TREE_HEAD_FIELDS: readonly string[] = ['treeSize', 'rootHash', 'timestamp', 'keyId', 'signature'];

/**
 * Limits for one line of a log or segment: generous (a verifier must not refuse a genuine entry), but bounded. An entry's
 * data went through the ingress parser's limits; its line nests it a few levels deeper.
 */
export const MAX_LOG_LINE_BYTES = 64 * MAX_JSON_BYTES;
const LINE_LIMITS = { maxBytes: MAX_LOG_LINE_BYTES, maxDepth: 4 * MAX_JSON_DEPTH };

/**
 * One JSON Lines record of the log (a segment's line, an embedded `audit.jsonl` line) as an object, read with the strict
 * parser of `@countersign/contracts`: a duplicate key (with `JSON.parse` the last one wins, so two readers may see two
 * different values), invalid UTF-8 or a lone surrogate is refused. The problem completes "the line …".
 */
export function parseLogLine(line: string | Uint8Array): { ok: true; value: Record<string, unknown> } | { ok: false; problem: string } {
  const parsed = parseStrictJson(line, LINE_LIMITS);
  if (!parsed.ok) return { ok: false, problem: `does not parse (${parsed.message})` };
  const value = parsed.value;
  if (!isObject(value)) return { ok: false, problem: 'is not a JSON object' };
  return { ok: true, value };
}

/** The first field of `value` that is not one of `fields`, if any. */
export function extraField(value: object, fields: readonly string[]): string | undefined {
  for (const k of Object.keys(value)) if (!fields.includes(k)) return k;
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Whether `line` is the bytes `JSON.stringify` writes for `value`, as the exporter writes it: a line that reads the same
 * but is written otherwise (another escape, spaces) was rewritten, though its values, and so its hash, may be the genuine
 * ones (operator CLI probe, 2026-12-06: `verify --file` refused such bytes in the embedded log, `--segment` took them).
 * Another key order still passes: the exporter writes an entry's keys in the order its store gives them.
 */
const asExported = (value: unknown, line: string): boolean => JSON.stringify(value) === line;
const REWRITTEN = 'is not written as the exporter writes it (the same values in other bytes: an escape, spaces): the file was rewritten';

/**
 * Verifies a segment file's text (see `exportSegment`). `trustedHeads` are heads kept elsewhere (the
 * append-only head store): they catch a segment cut short exactly at one of its own heads. Each line is read strictly
 * (`parseLogLine`): a duplicate key, a line of an unknown kind and a field the exporter does not write are refused.
 */
export function verifySegment(text: string, keys: readonly VerifyKey[], trustedHeads: readonly TreeHead[] = [], options: VerifyOptions = {}): VerifyResult {
  const lines = text.split('\n').filter((l) => l.trim());
  const first = parseLogLine(lines[0] ?? '');
  if (!first.ok) return { ok: false, firstBadIndex: 0, problem: `not a segment file: the header line ${first.problem}` };
  const header = first.value as unknown as { kind: string; version: number; prefix: SegmentPrefix };
  if (header.kind !== 'segment' || !READABLE_SEGMENT_VERSIONS.includes(header.version))
    return { ok: false, firstBadIndex: 0, problem: 'not a version 1 or 2 segment file' };
  const odd = extraField(header, HEADER_FIELDS);
  if (odd !== undefined) return { ok: false, firstBadIndex: 0, problem: `not a segment file: its header has a field ${JSON.stringify(odd)}` };
  if (!asExported(first.value, lines[0])) return { ok: false, firstBadIndex: 0, problem: `the header line ${REWRITTEN}` };
  try {
    CompactRange.restore(header.prefix);
  } catch (e) {
    return { ok: false, firstBadIndex: 0, problem: `not a segment file: its prefix is malformed (${(e as Error).message})` };
  }
  const entries: LoggedEntry[] = [];
  const heads: TreeHead[] = [];
  for (const line of lines.slice(1)) {
    const at = header.prefix.size + entries.length;
    const bad = (problem: string): VerifyResult => ({ ok: false, firstBadIndex: at, problem: `the line after entry ${at - 1} ${problem}` });
    const parsed = parseLogLine(line);
    if (!parsed.ok) return bad(parsed.problem);
    const v = parsed.value;
    const fields = v.kind === 'entry' ? ENTRY_LINE_FIELDS : v.kind === 'head' ? HEAD_LINE_FIELDS : undefined;
    if (!fields) return bad(`is of an unknown kind (${JSON.stringify(v.kind) ?? 'none'})`);
    const extra = extraField(v, fields);
    if (extra !== undefined) return bad(`has a field ${JSON.stringify(extra)} that segments do not have`);
    if (!asExported(v, line)) return bad(REWRITTEN);
    if (v.kind === 'entry') {
      if (!isObject(v.entry)) return bad('has no entry object');
      entries.push({ index: v.index as number, leafHash: v.leafHash as string | undefined, root: v.root as string | undefined, entry: v.entry });
    } else {
      if (!isObject(v.treeHead)) return bad('has no head object');
      const field = extraField(v.treeHead, TREE_HEAD_FIELDS);
      if (field !== undefined) return bad(`holds a head with a field ${JSON.stringify(field)} that heads do not have`);
      heads.push(v.treeHead as unknown as TreeHead);
    }
  }
  const known = new Set(heads.map((h) => JSON.stringify(h)));
  return verifyEntries(
    entries,
    [...heads, ...trustedHeads.filter((h) => h.treeSize > header.prefix.size && !known.has(JSON.stringify(h)))],
    keys,
    header.prefix,
    options,
  );
}
