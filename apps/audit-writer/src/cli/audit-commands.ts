import { closeSync, createReadStream, existsSync, fstatSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  AuditEntry,
  ChainVerifier,
  consistencyProof,
  extraField,
  keyFingerprint,
  parseLogLine,
  TREE_HEAD_FIELDS,
  inclusionProof,
  LoggedEntry,
  MAX_LOG_LINE_BYTES,
  rootFromLeaves,
  TreeAnchor,
  TreeHead,
  verifyConsistency,
  verifyInclusion,
  verifySegment,
  verifyTreeHead,
  VerifyOptions,
  VerifyResult,
} from '@countersign/audit-chain';
import { AuditLogRecoveredV1, EventData, TOPICS } from '@countersign/contracts';
import type { VerifyKey } from '@countersign/keys';
import type { Progress } from '@countersign/logging';
import { FileHeadStore } from '../chain/file-head-store';
import { entryObjectOf, isResumptionOf } from '../chain/writer-entries';
import { AuditLogRepository, leafOf, StoredEntry } from '../log-store/audit-log.repository';
import { linePlainlyWritten } from '../log-store/audit-file-line';
import { reading } from '@countersign/config';
import { checkReadable, openInput, readInput } from './files';

/** Where the CLI writes: results to `out`, progress to `err`. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

const PAGE = 10_000;

/** Heads kept in the append-only head store (a directory of JSON files); one that cannot be read is an `InaccessibleFile`. */
export function loadHeadDir(dir: string | undefined): TreeHead[] {
  if (!dir) return [];
  checkReadable(dir, 'directory');
  return FileHeadStore.read(dir);
}

const dedupeHeads = (heads: TreeHead[]) => [...new Map(heads.map((h) => [`${h.treeSize}/${h.keyId}/${h.timestamp}/${h.signature}`, h])).values()];

/** What `audit verify` pins and must find (`--trust`, `--head`: see `VerifyOptions`), and where it shows its progress. */
export interface AuditVerifyOptions extends VerifyOptions {
  progress?: Pick<Progress, 'update'>;
}

/**
 * Verifies the whole log in the store (the database) against the signed heads (from the store and, better,
 * from the append-only head store): names the first bad index and what is wrong. Pages through the log.
 */
export async function verifyDatabase(
  log: AuditLogRepository,
  keys: VerifyKey[],
  trustedHeads: TreeHead[],
  { progress, ...options }: AuditVerifyOptions = {},
): Promise<VerifyResult> {
  const heads = dedupeHeads([...(await log.heads()), ...trustedHeads]);
  const verifier = new ChainVerifier(heads, keys, undefined, options);
  const total = await log.extent();
  // The next page is read while this one is hashed: the database and the hashing overlap.
  let next = total > 0 ? log.range(0, PAGE) : undefined;
  for (let from = 0; next; from += PAGE) {
    const page = await next;
    next = from + PAGE < total ? log.range(from + PAGE, from + 2 * PAGE) : undefined;
    for (const e of page) {
      const problem = verifier.push(e);
      if (problem) {
        await next?.catch(() => undefined);
        return problem;
      }
    }
    progress?.update(Math.min(from + PAGE, total), total);
  }
  const result = verifier.finish();
  // The chain holds; the copies its searches read must say what it holds.
  const copy = result.ok ? await log.searchFieldMismatch?.() : undefined;
  if (!copy) return result;
  return {
    ok: false,
    firstBadIndex: copy.index,
    problem:
      `entry ${copy.index}: its search column ${copy.field} says ${JSON.stringify(copy.shown)}, the entry ${JSON.stringify(copy.hashed)}: ` +
      'the column was changed (a search by it would hide the entry or show it under another value)',
  };
}

/**
 * The most bytes `verify --segment` reads: a segment is verified in memory, and its text must fit a JavaScript string
 * (about 512 MiB). A larger log is exported in parts (`audit export --from --to`), each verifiable on its own.
 */
export const MAX_SEGMENT_BYTES = 256 * 1024 * 1024;

/**
 * Verifies a segment file (`audit export`), read as UTF-8 that must be valid (never silently replaced). The file must be
 * a regular file of at most `MAX_SEGMENT_BYTES`, checked before it is read: a device (`/dev/zero`) or a pipe has no end to
 * wait for, and an oversized file would exhaust memory before a line of it was checked.
 */
export function verifySegmentFile(file: string, keys: VerifyKey[], trustedHeads: TreeHead[], options: VerifyOptions = {}): VerifyResult {
  const bytes = readBounded(file, MAX_SEGMENT_BYTES);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { ok: false, firstBadIndex: 0, problem: 'the segment file is not valid UTF-8' };
  }
  const result = verifySegment(text, keys, trustedHeads, options);
  if (!result.ok && result.problem === 'not a version 1 or 2 segment file' && looksLikeStoredEntry(text.split('\n', 1)[0])) {
    return { ...result, problem: `${result.problem}: it looks like the embedded mode's audit.jsonl, verify it with --file` };
  }
  return result;
}

/**
 * The bytes of a regular file of at most `limit` bytes; throws, saying why, for any other file. One that cannot be read
 * (missing, a directory, no permission) is an `InaccessibleFile`.
 */
/** The most `tree-heads.jsonl` may hold: a head is under 1 KiB, and a log of a billion entries has a few hundred thousand. */
const MAX_HEADS_FILE_BYTES = 512 * 1024 * 1024;

function readBounded(file: string, limit: number): Buffer {
  const fd = openInput(file);
  try {
    const stat = fstatSync(fd);
    if (stat.size > limit)
      throw new Error(`${file} is ${stat.size} bytes, over the ${limit}-byte limit of a segment: export the log in parts (audit export --from N --to M)`);
    const bytes = Buffer.alloc(stat.size);
    for (let at = 0; at < bytes.length;) {
      const read = readSync(fd, bytes, at, bytes.length - at, at);
      if (read === 0) throw new Error(`${file} shrank while it was read: verify it once it is written`);
      at += read;
    }
    // A file still being written is verified once it is complete, not as the part that happened to be there.
    if (readSync(fd, Buffer.alloc(1), 0, 1, bytes.length) !== 0) throw new Error(`${file} grew while it was read: verify it once it is written`);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

const looksLikeStoredEntry = (line: string) => {
  try {
    const parsed = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null && 'index' in parsed && 'entry' in parsed && 'leafHash' in parsed;
  } catch {
    return false;
  }
};

/** Where the embedded mode keeps the heads of an audit file: `tree-heads.jsonl` beside it, and the head store `heads/`. */
export const embeddedHeadStoreOf = (file: string) => join(dirname(file), 'heads');

/** Where the embedded mode keeps the public keys of an audit file's heads: `keys/` beside it. */
export const embeddedKeysOf = (file: string) => join(dirname(file), 'keys');

/**
 * `recordedAt` as the audit file writes it (`Date#toISOString`). Entries written since 2026-12-02 hash it too (`_recordedAt`,
 * which the line's must equal); on older lines its form is all a verifier can check.
 */
const RECORDED_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Each line of `bytes` (split at LF), with its 1-based number; blank lines are left out. */
function* linesOf(bytes: Buffer): Generator<[Buffer, number]> {
  let n = 0;
  for (let from = 0; from < bytes.length;) {
    const nl = bytes.indexOf(10, from);
    const end = nl === -1 ? bytes.length : nl;
    n++;
    if (!isBlank(bytes, from, end)) yield [bytes.subarray(from, end), n];
    from = end + 1;
  }
}

/** Whether bytes[from, to) is only spaces, tabs and CRs. */
function isBlank(bytes: Buffer, from = 0, to = bytes.length): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0x20 && bytes[i] !== 0x09 && bytes[i] !== 0x0d) return false;
  return true;
}

/** The heads in `tree-heads.jsonl`, read as strictly as the log's lines; a line that is not a head is a problem. */
function readHeadsFile(file: string): TreeHead[] | { problem: string } {
  const heads: TreeHead[] = [];
  for (const [line, n] of linesOf(reading(file, () => readInput(file, MAX_HEADS_FILE_BYTES)))) {
    const parsed = parseLogLine(line);
    if (!parsed.ok) return { problem: `line ${n} of ${file} ${parsed.problem}: the heads were tampered with` };
    const extra = extraField(parsed.value, TREE_HEAD_FIELDS);
    if (extra !== undefined)
      return { problem: `line ${n} of ${file} has a field ${JSON.stringify(extra)} that heads do not have: the heads were tampered with` };
    heads.push(parsed.value as unknown as TreeHead);
  }
  return heads;
}

/**
 * Verifies the embedded mode's audit file (`audit/audit.jsonl`, one stored entry per line: index, entry,
 * leaf hash, the time it was recorded) against the signed heads beside it (`tree-heads.jsonl`) and `trustedHeads` (its
 * head store). Streams the file's bytes line by line, each read strictly (`parseLogLine`: a duplicate key or invalid
 * UTF-8 is refused) with no field but `AUDIT_FILE_LINE_FIELDS`; names the first bad index and what is wrong.
 */
export async function verifyAuditFile(
  file: string,
  keys: VerifyKey[],
  trustedHeads: TreeHead[],
  { progress, ...options }: AuditVerifyOptions = {},
): Promise<VerifyResult> {
  const headsFile = join(dirname(file), 'tree-heads.jsonl');
  const own = existsSync(headsFile) ? readHeadsFile(headsFile) : [];
  if (!Array.isArray(own)) return { ok: false, firstBadIndex: 0, problem: own.problem };
  const heads = dedupeHeads([...own, ...trustedHeads]);
  const verifier = new ChainVerifier(heads, keys, undefined, options);
  // Where a signed head ends in the writer's clean stop: the writer appends after it only its resumption (`isResumptionOf`),
  // so any other entry there was put in by someone else, even under heads signed since (red team, 2026-12-07: a forged
  // approval after a clean stop, signed over by a start that took it, verified as history).
  const headSizes = new Set(heads.map((h) => h.treeSize));
  let stoppedAt: number | undefined;
  let lineNumber = 0;
  const bad = (problem: string) => {
    const at = verifier.verified;
    return { ok: false as const, firstBadIndex: at, problem: `the line of entry ${at} (line ${lineNumber}) ${problem}` };
  };
  const readLine = (bytes: Buffer): (VerifyResult & { ok: false }) | undefined => {
    lineNumber++;
    // The writer writes no blank line: one was put there (red team, 2026-12-04).
    if (isBlank(bytes)) return bad('is blank, and the audit file writes no blank line: it was added outside Countersign');
    const parsed = parseLogLine(bytes);
    if (!parsed.ok) return bad(parsed.problem);
    const stored = parsed.value;
    if (stored.kind === 'segment') return { ok: false, firstBadIndex: 0, problem: 'this is a segment file (from audit export), verify it with --segment' };
    if (typeof stored.entry !== 'object' || stored.entry === null || Array.isArray(stored.entry)) return bad('has no entry object');
    if (typeof stored.recordedAt !== 'string' || !RECORDED_AT.test(stored.recordedAt) || Number.isNaN(Date.parse(stored.recordedAt)))
      return bad('has no recordedAt time in the form the audit file writes it');
    const problem = verifier.push({
      index: stored.index as number,
      entry: stored.entry,
      leafHash: stored.leafHash as string | undefined,
      root: stored.root as string | undefined,
      recordedAt: stored.recordedAt,
    });
    if (problem) return problem;
    // The hash covers what the line means, not how it is written: a line must also hold only the writer's fields and be
    // the bytes the writer writes for it, or a reader other than this one (another parser, `jq`, a person) may see what
    // was never written: `480.0000000000000001` for 480, escapes, other key orders, a CR. The start reads it the same way.
    const unlike = linePlainlyWritten(stored as unknown as StoredEntry, bytes);
    if (unlike)
      return { ok: false, firstBadIndex: stored.index as number, problem: `the line of entry ${String(stored.index)} (line ${lineNumber}) ${unlike}` };
    const entry = stored.entry as AuditEntry;
    const index = stored.index as number;
    if (stoppedAt !== undefined && !isResumptionOf(entry, stoppedAt))
      return {
        ok: false,
        firstBadIndex: index,
        problem:
          `entry ${index} follows the writer's clean stop (entry ${stoppedAt}, the last of a signed head) but is not its resumption: ` +
          'the writer appends nothing else after a clean stop, so it was put there by someone else',
      };
    stoppedAt = entry.eventType === TOPICS.logStopped && headSizes.has(index + 1) ? index : undefined;
    return undefined;
  };
  // Opened here, not by the stream: a file that cannot be read is named now, not as an error half-way through.
  const fd = openInput(file);
  const input = createReadStream(file, { fd });
  // Bytes, not text: a line is decoded (strictly) on its own, and a line split across two chunks is joined first.
  const carried: Buffer[] = [];
  let carriedBytes = 0;
  // A line past the limit is refused as soon as it passes it, not once it ends: a line that never ends (`/dev/zero`, a
  // file cut in the middle of a write that went on) would otherwise be held in memory until the process runs out.
  const tooLong = () => {
    lineNumber++;
    return bad(`is longer than ${MAX_LOG_LINE_BYTES} bytes, the most a line of the audit file may be`);
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let from = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, from)) {
        const tail = chunk.subarray(from, nl);
        if (carriedBytes + tail.length > MAX_LOG_LINE_BYTES) return tooLong();
        const problem = readLine(carried.length ? Buffer.concat([...carried.splice(0), tail]) : tail);
        carriedBytes = 0;
        if (problem) return problem;
        from = nl + 1;
      }
      if (from < chunk.length) {
        carriedBytes += chunk.length - from;
        if (carriedBytes > MAX_LOG_LINE_BYTES) return tooLong();
        carried.push(chunk.subarray(from));
      }
      progress?.update(verifier.verified);
    }
    const problem = carried.length ? readLine(Buffer.concat(carried)) : undefined;
    if (problem) return problem;
  } finally {
    input.destroy();
  }
  return verifier.finish();
}

/** An entry that records a recovery at the writer's start (`audit.log.recovered.v1`): its index and what it says. */
export interface RecoveryRecord {
  index: number;
  data: EventData<typeof TOPICS.logRecovered>;
}

/** The recovery `e` records, if it is such an entry (give it as `VerifyOptions.onEntry` sees it). */
export function recoveryIn(e: LoggedEntry): RecoveryRecord | undefined {
  // Hashed bytes are canonical JSON (RFC 8785), which writes the type as it is: an entry without it is not parsed.
  if (e.bytes !== undefined && !e.bytes.includes(`"eventType":"${TOPICS.logRecovered}"`)) return undefined;
  const entry = entryObjectOf(e);
  if (entry?.eventType !== TOPICS.logRecovered) return undefined;
  return { index: e.index, data: entry.data as RecoveryRecord['data'] };
}

/**
 * What the log says about its recoveries, for a person (`audit verify` writes it to stderr): a line, then one per entry.
 * Entries N..M adopted past every signed head are what an unclean stop leaves, and what someone who wrote to a stopped
 * log would leave; the writer records them, and a head signs the record (docs/adr/0005, addendum of 2026-12-04).
 */
export function recoveryReport(records: readonly RecoveryRecord[]): string[] {
  if (!records.length) return [];
  const n = records.length;
  return [
    `recovered: the log records ${n} recover${n === 1 ? 'y' : 'ies'} at the writer's start, each under a signed head (an unclean stop leaves them; after a clean stop they mean someone else wrote to the log):`,
    ...records.map((r) => `  ${describeRecovery(r)}`),
  ];
}

/**
 * The entries the writer adopted past every signed head, for the one-line verdict: a head signed them only after a start,
 * so no signature vouches that the writer wrote them (anyone who could write to the stopped log could have). Empty when none.
 */
export function adoptedUnsigned(records: readonly RecoveryRecord[]): string {
  const tails = records.flatMap(({ data }) => (data.kind === 'unsigned-tail' ? [data] : []));
  if (!tails.length) return '';
  const n = tails.reduce((sum, t) => sum + (t.to - t.from + 1), 0);
  const ranges = tails.map((t) => (t.from === t.to ? `${t.from}` : `${t.from}..${t.to}`)).join(', ');
  return `; ${n} ${n === 1 ? 'entry' : 'entries'} (${ranges}) adopted unsigned after an unclean stop: no signature vouches the writer wrote ${n === 1 ? 'it' : 'them'} (stderr)`;
}

/** One recovery: `entry N (kind): what happened`. */
export function describeRecovery({ index, data }: RecoveryRecord): string {
  const parsed = AuditLogRecoveredV1.safeParse(data);
  if (!parsed.success) return `entry ${index} (unknown): ${JSON.stringify(data)}`;
  const d = parsed.data;
  return d.kind === 'unsigned-tail'
    ? `entry ${index} (unsigned-tail): entries ${d.from}..${d.to} were past every signed head when the writer started, and were adopted as they were`
    : `entry ${index} (torn-write): the last line of ${d.file} (line ${d.line}, ${d.bytes} bytes, SHA-256 ${d.digest}) was cut short past every ` +
        `signed head (the newest of ${d.newestSignedHead} entries) and set aside to ${d.keptAt}`;
}

/**
 * Two keys under one id with different public keys: a verifier takes the first it finds, so the one added later can
 * stand in for the genuine one. Names the id and both fingerprints.
 */
export function keyIdClash(keys: readonly VerifyKey[]): string | undefined {
  const seen = new Map<string, string>();
  for (const k of keys) {
    const print = keyFingerprint(k.publicKey);
    const before = seen.get(k.keyId);
    if (before !== undefined && before !== print)
      return `two different public keys have the id ${k.keyId} (fingerprints ${before} and ${print}): one of them was added`;
    seen.set(k.keyId, print);
  }
  return undefined;
}

async function leavesUpTo(log: AuditLogRepository, size: number): Promise<Buffer[]> {
  const leaves: Buffer[] = [];
  for (let from = 0; from < size; from += PAGE) for (const e of await log.range(from, Math.min(size, from + PAGE))) leaves.push(leafOf(e));
  if (leaves.length !== size) throw new Error(`the log has ${leaves.length} entries, fewer than ${size}`);
  return leaves;
}

/** An inclusion proof of entry `index` in the tree of `treeSize` (default: the latest head's). */
export async function prove(log: AuditLogRepository, index: number, treeSize?: number) {
  const heads = await log.heads();
  const size = treeSize ?? heads[heads.length - 1]?.treeSize ?? (await log.tip()).size;
  const leaves = await leavesUpTo(log, size);
  const [entry] = await log.range(index, index + 1);
  if (!entry || index >= size) throw new Error(`no entry ${index} in a tree of ${size}`);
  return inclusionOf(leaves, heads, index, size, entry.entry ?? JSON.parse(entry.bytes!));
}

/**
 * The leaves of the embedded mode's audit file, and its signed heads, once the whole file verifies (`verifyAuditFile`,
 * with the heads beside it and `trustedHeads`): a proof from a file that does not verify would prove nothing. With
 * `keep`, that entry too. Auditor probe, 2026-12-06: `prove` and `consistency` took only `--database`, so an auditor of
 * the embedded mode could get neither.
 */
export async function fileLeaves(
  file: string,
  keys: VerifyKey[],
  trustedHeads: TreeHead[],
  keep?: number,
  trust: { pinned?: string[]; anchors?: TreeAnchor[] } = {},
): Promise<{ ok: true; leaves: Buffer[]; heads: TreeHead[]; kept?: unknown } | { ok: false; problem: string }> {
  const leaves: Buffer[] = [];
  let kept: unknown;
  const result = await verifyAuditFile(file, keys, trustedHeads, {
    ...(trust.pinned?.length && { pinned: trust.pinned }),
    ...(trust.anchors?.length && { anchors: trust.anchors }),
    onEntry: (e) => {
      leaves.push(leafOf(e));
      if (leaves.length - 1 === keep) kept = e.entry ?? JSON.parse(e.bytes!);
    },
  });
  if (!result.ok) return { ok: false, problem: `the file does not verify, at index ${result.firstBadIndex}: ${result.problem}` };
  const own = join(dirname(file), 'tree-heads.jsonl');
  const heads = dedupeHeads([...(existsSync(own) ? (readHeadsFile(own) as TreeHead[]) : []), ...trustedHeads]).sort((a, b) => a.treeSize - b.treeSize);
  return { ok: true, leaves, heads, ...(keep !== undefined && { kept }) };
}

/** `prove` of the embedded audit file (`fileLeaves`): the same answer as from the database. */
export async function proveInFile(
  file: string,
  keys: VerifyKey[],
  trustedHeads: TreeHead[],
  index: number,
  treeSize?: number,
  trust: { pinned?: string[]; anchors?: TreeAnchor[] } = {},
) {
  const read = await fileLeaves(file, keys, trustedHeads, index, trust);
  if (!read.ok) throw new Error(read.problem);
  const size = treeSize ?? read.heads[read.heads.length - 1]?.treeSize ?? read.leaves.length;
  if (size > read.leaves.length) throw new Error(`the log has ${read.leaves.length} entries, fewer than ${size}`);
  if (index >= size || read.kept === undefined) throw new Error(`no entry ${index} in a tree of ${size}`);
  return inclusionOf(read.leaves.slice(0, size), read.heads, index, size, read.kept);
}

/** `consistency` of the embedded audit file (`fileLeaves`). */
export async function consistencyInFile(file: string, keys: VerifyKey[], trustedHeads: TreeHead[], head1: TreeHead, head2: TreeHead) {
  const unsigned = headsProblem([head1, head2], keys);
  if (unsigned) return unsigned;
  const read = await fileLeaves(file, keys, trustedHeads);
  if (!read.ok) return { ok: false, problem: read.problem };
  if (head2.treeSize > read.leaves.length) return { ok: false, problem: `the log has ${read.leaves.length} entries, fewer than ${head2.treeSize}` };
  return consistencyOf(read.leaves.slice(0, head2.treeSize), head1, head2);
}

function inclusionOf(leaves: Buffer[], heads: TreeHead[], index: number, size: number, entry: unknown) {
  const proof = inclusionProof(leaves, index, size);
  // The root of that tree: its signed head's when there is one (rows no longer record roots, ADR 0029), else the leaves'.
  const head = heads.find((h) => h.treeSize === size);
  const root = head ? Buffer.from(head.rootHash, 'hex') : rootFromLeaves(leaves, 0, size);
  return {
    index,
    treeSize: size,
    entry,
    leafHash: leaves[index].toString('hex'),
    proof: proof.map((p) => p.toString('hex')),
    root: root.toString('hex'),
    verified: verifyInclusion(leaves[index], index, size, proof, root),
  };
}

/** That the log of head1 is a prefix of the log of head2: both signatures, and a consistency proof. */
export async function consistency(log: AuditLogRepository, head1: TreeHead, head2: TreeHead, keys: VerifyKey[]) {
  return headsProblem([head1, head2], keys) ?? consistencyOf(await leavesUpTo(log, head2.treeSize), head1, head2);
}

/** The first of `heads` whose signature does not verify under `keys`, as a failed answer; checked before any leaf is read. */
function headsProblem(heads: TreeHead[], keys: VerifyKey[]): { ok: false; problem: string } | undefined {
  for (const h of heads) {
    const check = verifyTreeHead(h, keys);
    if (!check.ok) return { ok: false, problem: check.problem };
  }
  return undefined;
}

/** That the tree of `head1` is a prefix of the tree of `head2`, from the leaves of `head2`'s tree (signatures checked before). */
function consistencyOf(leaves: Buffer[], head1: TreeHead, head2: TreeHead) {
  const proof = consistencyProof(leaves, head1.treeSize, head2.treeSize);
  const ok = verifyConsistency(head1.treeSize, head2.treeSize, Buffer.from(head1.rootHash, 'hex'), Buffer.from(head2.rootHash, 'hex'), proof);
  return ok
    ? { ok: true, proof: proof.map((p) => p.toString('hex')) }
    : { ok: false, problem: `the log of size ${head1.treeSize} is not a prefix of the log of size ${head2.treeSize}` };
}

// The check itself lives with the feature (the writer's completeness metric runs it too); the CLI's command is it.
export { completeness } from '../completeness/completeness';
export type { Gap } from '../completeness/completeness';
