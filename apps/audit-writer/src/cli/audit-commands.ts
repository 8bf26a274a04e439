import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  ChainVerifier,
  consistencyProof,
  inclusionProof,
  rootFromLeaves,
  TreeHead,
  verifyConsistency,
  verifyInclusion,
  verifySegment,
  verifyTreeHead,
  VerifyResult,
} from '@countersign/audit-chain';
import type { VerifyKey } from '@countersign/keys';
import type { Progress } from '@countersign/logging';
import { FileHeadStore } from '../chain/file-head-store';
import { AuditLogRepository, leafOf } from '../log-store/audit-log.repository';

/** Where the CLI writes: results to `out`, progress to `err`. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

const PAGE = 10_000;

/** Heads kept in the append-only head store (a directory of JSON files). */
export function loadHeadDir(dir: string | undefined): TreeHead[] {
  return dir ? FileHeadStore.read(dir) : [];
}

const dedupeHeads = (heads: TreeHead[]) => [...new Map(heads.map((h) => [`${h.treeSize}/${h.keyId}/${h.timestamp}/${h.signature}`, h])).values()];

/**
 * Verifies the whole log in the store (the database) against the signed heads (from the store and, better,
 * from the append-only head store): names the first bad index and what is wrong. Pages through the log.
 */
export async function verifyDatabase(
  log: AuditLogRepository,
  keys: VerifyKey[],
  trustedHeads: TreeHead[],
  progress?: Pick<Progress, 'update'>,
): Promise<VerifyResult> {
  const heads = dedupeHeads([...(await log.heads()), ...trustedHeads]);
  const verifier = new ChainVerifier(heads, keys);
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
  return verifier.finish();
}

export function verifySegmentFile(file: string, keys: VerifyKey[], trustedHeads: TreeHead[]): VerifyResult {
  const text = readFileSync(file, 'utf8');
  const result = verifySegment(text, keys, trustedHeads);
  if (!result.ok && result.problem === 'not a version 1 or 2 segment file' && looksLikeStoredEntry(text.split('\n', 1)[0])) {
    return { ...result, problem: `${result.problem}: it looks like the embedded mode's audit.jsonl, verify it with --file` };
  }
  return result;
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

/**
 * Verifies the embedded mode's audit file (`audit/audit.jsonl`, one stored entry per line: index, entry,
 * leaf hash, root) against the signed heads beside it (`tree-heads.jsonl`) and `trustedHeads` (its
 * head store). Reads the file line by line; names the first bad index and what is wrong.
 */
export async function verifyAuditFile(file: string, keys: VerifyKey[], trustedHeads: TreeHead[], progress?: Pick<Progress, 'update'>): Promise<VerifyResult> {
  const headsFile = join(dirname(file), 'tree-heads.jsonl');
  const own: TreeHead[] = [];
  if (existsSync(headsFile)) {
    for (const [n, line] of readFileSync(headsFile, 'utf8').split('\n').entries()) {
      if (!line.trim()) continue;
      try {
        own.push(JSON.parse(line));
      } catch {
        return { ok: false, firstBadIndex: 0, problem: `line ${n + 1} of ${headsFile} does not parse: the heads were tampered with` };
      }
    }
  }
  const verifier = new ChainVerifier(dedupeHeads([...own, ...trustedHeads]), keys);
  const input = createReadStream(file);
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      if (!line.trim()) continue;
      let stored: { kind?: unknown; index?: number; entry?: unknown; leafHash?: string; root?: string };
      try {
        stored = JSON.parse(line);
      } catch {
        return { ok: false, firstBadIndex: verifier.verified, problem: `the line of entry ${verifier.verified} does not parse` };
      }
      if (stored?.kind === 'segment') return { ok: false, firstBadIndex: 0, problem: 'this is a segment file (from audit export), verify it with --segment' };
      const problem = verifier.push({ index: stored?.index as number, entry: stored?.entry, leafHash: stored?.leafHash, root: stored?.root });
      if (problem) return problem;
      progress?.update(verifier.verified);
    }
  } finally {
    input.destroy();
  }
  return verifier.finish();
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
  const proof = inclusionProof(leaves, index, size);
  // The root of that tree: its signed head's when there is one (rows no longer record roots, ADR 0029), else the leaves'.
  const head = heads.find((h) => h.treeSize === size);
  const root = head ? Buffer.from(head.rootHash, 'hex') : rootFromLeaves(leaves, 0, size);
  return {
    index,
    treeSize: size,
    entry: entry.entry ?? JSON.parse(entry.bytes!),
    leafHash: leaves[index].toString('hex'),
    proof: proof.map((p) => p.toString('hex')),
    root: root.toString('hex'),
    verified: verifyInclusion(leaves[index], index, size, proof, root),
  };
}

/** That the log of head1 is a prefix of the log of head2: both signatures, and a consistency proof. */
export async function consistency(log: AuditLogRepository, head1: TreeHead, head2: TreeHead, keys: VerifyKey[]) {
  for (const h of [head1, head2]) {
    const check = verifyTreeHead(h, keys);
    if (!check.ok) return { ok: false, problem: check.problem };
  }
  const leaves = await leavesUpTo(log, head2.treeSize);
  const proof = consistencyProof(leaves, head1.treeSize, head2.treeSize);
  const ok = verifyConsistency(head1.treeSize, head2.treeSize, Buffer.from(head1.rootHash, 'hex'), Buffer.from(head2.rootHash, 'hex'), proof);
  return ok
    ? { ok: true, proof: proof.map((p) => p.toString('hex')) }
    : { ok: false, problem: `the log of size ${head1.treeSize} is not a prefix of the log of size ${head2.treeSize}` };
}

// The check itself lives with the feature (the writer's completeness metric runs it too); the CLI's command is it.
export { completeness } from '../completeness/completeness';
export type { Gap } from '../completeness/completeness';
