import { setImmediate as nextTurn } from 'node:timers/promises';
import { EMPTY_ROOT, isPowerOfTwo, nodeHash, rootFromLeaves, splitPoint } from '@countersign/audit-chain';
import type { SegmentPrefix } from '@countersign/audit-chain';
import { AuditLogRepository, leafOf } from '../log-store/audit-log.repository';

/** Leaves read and hashed between two turns of the event loop. */
export const LEAF_CHUNK = 1024;

/** How many subtree roots a tree keeps (each of at least LEAF_CHUNK leaves): a log of some 33 million entries. */
const MAX_CACHED = 65_536;

/** The log holds fewer entries than a proof or a prefix asked for. */
export class ShortLogError extends Error {}

/**
 * RFC 6962 subtree roots over the log's recorded leaf hashes, for proofs and segment prefixes (docs/adr/0005, addendum
 * of 2026-12-05). Leaves are read LEAF_CHUNK at a time and the event loop gets a turn after each chunk, so a proof over a
 * large log does not hold the process. The roots of complete subtrees of a chunk or more are kept: the log is
 * append-only, so such a root never changes, and a later proof reads at most one chunk of leaves at the right edge.
 */
export class LeafTree {
  private readonly perfect = new Map<string, Promise<Buffer>>();

  constructor(private readonly log: AuditLogRepository) {}

  /** MTH of the leaves from..to-1. */
  async root(from: number, to: number): Promise<Buffer> {
    const n = to - from;
    if (n <= 0) return EMPTY_ROOT;
    if (n >= LEAF_CHUNK && isPowerOfTwo(n)) return this.perfectRoot(from, n);
    if (n <= LEAF_CHUNK) return this.hashed(from, to);
    const k = splitPoint(n);
    return nodeHash(await this.root(from, from + k), await this.root(from + k, to));
  }

  /** RFC 6962 PATH(index, D[treeSize]), from the leaf up, as `inclusionProof` of libs/audit-chain gives it. */
  async inclusionProof(index: number, treeSize: number): Promise<Buffer[]> {
    const path = async (m: number, from: number, to: number): Promise<Buffer[]> => {
      const n = to - from;
      if (n === 1) return [];
      const k = splitPoint(n);
      return m < k
        ? [...(await path(m, from, from + k)), await this.root(from + k, to)]
        : [...(await path(m - k, from + k, to)), await this.root(from, from + k)];
    };
    return path(index, 0, treeSize);
  }

  /** The compact range of the first `size` leaves (what a segment from `size` starts with): its perfect subtrees, largest first. */
  async compactRange(size: number): Promise<SegmentPrefix> {
    const hashes: string[] = [];
    let start = 0;
    for (let bit = 2 ** 52; bit >= 1; bit /= 2)
      if (Math.floor(size / bit) % 2 === 1) {
        hashes.push((await this.root(start, start + bit)).toString('hex'));
        start += bit;
      }
    return { size, hashes };
  }

  private perfectRoot(from: number, n: number): Promise<Buffer> {
    const key = `${from}+${n}`;
    const kept = this.perfect.get(key);
    if (kept) return kept;
    const half = n / 2;
    const root =
      n === LEAF_CHUNK ? this.hashed(from, from + n) : (async () => nodeHash(await this.root(from, from + half), await this.root(from + half, from + n)))();
    // Kept as a promise: callers at once share one computation. A failed one is not kept.
    if (this.perfect.size < MAX_CACHED) {
      this.perfect.set(key, root);
      root.catch(() => this.perfect.delete(key));
    }
    return root;
  }

  /** The root of at most a chunk of leaves, hashed from them; then the event loop's turn. */
  private async hashed(from: number, to: number): Promise<Buffer> {
    const root = rootFromLeaves(await this.leaves(from, to));
    await nextTurn();
    return root;
  }

  /** The recorded leaf hashes when the store gives them alone, else the entries' (`leafOf`). */
  private async leaves(from: number, to: number): Promise<Buffer[]> {
    const leaves = this.log.leafHashes ? (await this.log.leafHashes(from, to)).map((h) => Buffer.from(h, 'hex')) : (await this.log.range(from, to)).map(leafOf);
    if (leaves.length !== to - from) throw new ShortLogError(`the log has only ${from + leaves.length} entries`);
    return leaves;
  }
}
