import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * RFC 6962 Merkle tree hashing: leaf = SHA-256(0x00 ‖ entry), node = SHA-256(0x01 ‖ left ‖ right),
 * the empty tree = SHA-256 of nothing. Hashes are 32-byte Buffers.
 */
export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

// One-shot hashing (node:crypto `hash`, Node ≥ 20.12) is markedly faster than a Hash object for small
// inputs; fall back to createHash where it is missing.
const oneShot = (crypto as unknown as { hash?: (alg: string, data: Buffer | string, enc: 'buffer') => Buffer }).hash;

export function leafHash(entry: Buffer): Buffer {
  return oneShot ? oneShot('sha256', Buffer.concat([LEAF, entry]), 'buffer') : createHash('sha256').update(LEAF).update(entry).digest();
}

// A reused buffer for 0x00 ‖ UTF-8(text): a leaf hashed from text allocates only its result (no concatenated
// string, no Buffer per entry), which is most of what verification and appending allocate per entry.
let leafInput = Buffer.alloc(16 * 1024);

/** The leaf hash of an entry kept as its canonical JSON text (UTF-8), without copying it into a Buffer first. */
export function leafHashOfText(canonicalJson: string): Buffer {
  return Buffer.from(leafBinaryOfText(canonicalJson), 'latin1');
}

// One reused buffer for 0x01 ‖ left ‖ right: hashing a node allocates only its result (verification hashes
// about one node per entry, so a fresh concatenation per node was a large share of its allocations).
const nodeInput = Buffer.alloc(65, 1);

/**
 * The same leaf hash as a 32-character binary string (one character per byte, latin1). Hashes kept as such short
 * strings cost the garbage collector far less than a Buffer each (every Buffer has its own backing store): the
 * compact range and the verifier work on them, once per entry. `Buffer.from(h, 'latin1')` gives the bytes back.
 */
export function leafBinaryOfText(canonicalJson: string): string {
  if (!oneShot) return leafHash(Buffer.from(canonicalJson, 'utf8')).toString('latin1');
  // UTF-8 takes at most 3 bytes per UTF-16 code unit.
  if (canonicalJson.length * 3 + 1 > leafInput.length) leafInput = Buffer.alloc(Math.max(canonicalJson.length * 3 + 1, leafInput.length * 2));
  leafInput[0] = 0;
  const n = leafInput.write(canonicalJson, 1, 'utf8');
  return (oneShot as unknown as (alg: string, data: Buffer, enc: 'latin1') => string)('sha256', leafInput.subarray(0, n + 1), 'latin1');
}

/** `nodeHash` over binary strings (see `leafBinaryOfText`): allocates only its 32-character result. */
export function nodeBinary(left: string, right: string): string {
  // Anything but two 32-byte hashes (a damaged record) is hashed exactly as given, like `nodeHash` does.
  if (left.length !== 32 || right.length !== 32) return createHash('sha256').update(NODE).update(left, 'latin1').update(right, 'latin1').digest('binary');
  nodeInput.write(left, 1, 32, 'latin1');
  nodeInput.write(right, 33, 32, 'latin1');
  return oneShot
    ? (oneShot as unknown as (alg: string, data: Buffer, enc: 'latin1') => string)('sha256', nodeInput, 'latin1')
    : createHash('sha256').update(nodeInput).digest('binary');
}

export function nodeHash(left: Buffer, right: Buffer): Buffer {
  if (!oneShot || left.length !== 32 || right.length !== 32) return createHash('sha256').update(NODE).update(left).update(right).digest();
  left.copy(nodeInput, 1);
  right.copy(nodeInput, 33);
  return oneShot('sha256', nodeInput, 'buffer');
}

/** An audit entry's RFC 8785 canonical JSON, as text: what a store keeps and `leafHashOfText` hashes (no Buffer in between). */
export function entryJson(entry: unknown): string {
  const json = canonicalize(entry);
  if (json === undefined) throw new Error('entry cannot be canonicalized');
  return json;
}

/** An audit entry's bytes: the UTF-8 of its RFC 8785 canonical JSON. */
export function entryBytes(entry: unknown): Buffer {
  return Buffer.from(entryJson(entry), 'utf8');
}

/**
 * A tree size or leaf index as the verifiers accept it: an integer from 0 to 2^53 − 1. Anything else
 * (fractions, NaN, ±Infinity, strings) is no position in any tree. All index arithmetic below is on such
 * numbers with division and `Math.floor`, never 32-bit bitwise operators, so it is exact up to 2^53.
 */
export const isTreePosition = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** Whether n (a tree position) is a power of two, exactly up to 2^53 (`n & (n - 1)` would cut n to 32 bits). */
export function isPowerOfTwo(n: number): boolean {
  if (!isTreePosition(n) || n === 0) return false;
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

/** The largest power of two strictly smaller than n (n ≥ 2): where RFC 6962 splits a tree. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes, by the definition (the reference the fast paths are tested against). */
export function rootFromLeaves(leaves: readonly Buffer[], from = 0, to = leaves.length): Buffer {
  const n = to - from;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leaves[from];
  const k = splitPoint(n);
  return nodeHash(rootFromLeaves(leaves, from, from + k), rootFromLeaves(leaves, from + k, to));
}

/**
 * The right edge of the tree: the roots of its perfect subtrees, largest first. Appending is O(log n)
 * and never recomputes the tree; `root()` folds the edge right to left. It can be saved and restored, so a
 * writer resumes after a restart without reading the log back.
 */
export class CompactRange {
  // The edge's hashes as 32-character binary strings (latin1), not Buffers: appending allocates only short strings.
  private constructor(
    private readonly hashes: string[],
    private readonly sizes: number[],
    private count: number,
  ) {}

  static empty(): CompactRange {
    return new CompactRange([], [], 0);
  }

  /** Restores from `size` and the edge hashes (as `state()` gave them). */
  static restore(state: { size: number; hashes: string[] }): CompactRange {
    if (!isTreePosition(state?.size)) throw new Error(`compact range size ${String(state?.size)} is not an integer from 0 to 2^53 - 1`);
    if (!Array.isArray(state.hashes) || !state.hashes.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))) {
      throw new Error('compact range hashes must be hex SHA-256 values');
    }
    const sizes: number[] = [];
    for (let bit = 2 ** 52; bit >= 1; bit /= 2) if (Math.floor(state.size / bit) % 2 === 1) sizes.push(bit);
    if (sizes.length !== state.hashes.length) throw new Error(`compact range of size ${state.size} needs ${sizes.length} hashes, got ${state.hashes.length}`);
    return new CompactRange(
      state.hashes.map((h) => Buffer.from(h, 'hex').toString('latin1')),
      sizes,
      state.size,
    );
  }

  get size(): number {
    return this.count;
  }

  append(leaf: Buffer): void {
    this.appendBinary(leaf.toString('latin1'));
  }

  /** Appends a leaf hash given as a 32-character binary string (`leafBinaryOfText`). */
  appendBinary(leaf: string): void {
    const hashes = this.hashes;
    const sizes = this.sizes;
    hashes.push(leaf);
    sizes.push(1);
    this.count++;
    let n = sizes.length;
    while (n >= 2 && sizes[n - 1] === sizes[n - 2]) {
      const right = hashes.pop()!;
      const size = sizes.pop()!;
      n--;
      hashes[n - 1] = nodeBinary(hashes[n - 1], right);
      sizes[n - 1] = size * 2;
    }
  }

  root(): Buffer {
    return Buffer.from(this.rootBinary(), 'latin1');
  }

  /** The root as a 32-character binary string. */
  rootBinary(): string {
    if (this.hashes.length === 0) return EMPTY_ROOT.toString('latin1');
    let r = this.hashes[this.hashes.length - 1];
    for (let i = this.hashes.length - 2; i >= 0; i--) r = nodeBinary(this.hashes[i], r);
    return r;
  }

  state(): { size: number; hashes: string[] } {
    return { size: this.count, hashes: this.hashes.map((h) => Buffer.from(h, 'latin1').toString('hex')) };
  }
}

/** RFC 6962 2.1.1 PATH(m, D[n]): the audit path of leaf m in the tree of the first n leaves. */
export function inclusionProof(leaves: readonly Buffer[], index: number, treeSize = leaves.length): Buffer[] {
  if (!(isTreePosition(index) && isTreePosition(treeSize) && index < treeSize && treeSize <= leaves.length)) {
    throw new RangeError(`no leaf ${index} in a tree of ${treeSize}`);
  }
  const path = (m: number, from: number, to: number): Buffer[] => {
    const n = to - from;
    if (n === 1) return [];
    const k = splitPoint(n);
    return m < k ? [...path(m, from, from + k), rootFromLeaves(leaves, from + k, to)] : [...path(m - k, from + k, to), rootFromLeaves(leaves, from, from + k)];
  };
  return path(index, 0, treeSize);
}

/** RFC 6962 2.1.2 PROOF(m, D[n]): that the tree of the first m leaves is a prefix of the one of n. */
export function consistencyProof(leaves: readonly Buffer[], m: number, n = leaves.length): Buffer[] {
  if (!(isTreePosition(m) && isTreePosition(n) && m <= n && n <= leaves.length)) throw new RangeError(`no consistency proof from ${m} to ${n}`);
  if (m === 0 || m === n) return [];
  const sub = (m: number, from: number, to: number, complete: boolean): Buffer[] => {
    const size = to - from;
    if (m === size) return complete ? [] : [rootFromLeaves(leaves, from, to)];
    const k = splitPoint(size);
    return m <= k
      ? [...sub(m, from, from + k, complete), rootFromLeaves(leaves, from + k, to)]
      : [...sub(m - k, from + k, to, false), rootFromLeaves(leaves, from, from + k)];
  };
  return sub(m, 0, n, true);
}

/**
 * RFC 9162 2.1.3.2: does `proof` show leaf `leaf` at `index` in the tree of `treeSize` with `root`?
 * False unless index and size are integers with 0 ≤ index < treeSize ≤ 2^53 − 1.
 */
export function verifyInclusion(leaf: Buffer, index: number, treeSize: number, proof: readonly Buffer[], root: Buffer): boolean {
  if (!(isTreePosition(index) && isTreePosition(treeSize) && index < treeSize)) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
    } else {
      r = nodeHash(r, p);
    }
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  return sn === 0 && r.equals(root);
}

/**
 * RFC 9162 2.1.4.2: does `proof` show the tree (size1, root1) is a prefix of (size2, root2)?
 * False unless both sizes are integers with 0 ≤ size1 ≤ size2 ≤ 2^53 − 1.
 */
export function verifyConsistency(size1: number, size2: number, root1: Buffer, root2: Buffer, proof: readonly Buffer[]): boolean {
  if (!(isTreePosition(size1) && isTreePosition(size2) && size1 <= size2)) return false;
  if (size1 === size2) return proof.length === 0 && root1.equals(root2);
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
    } else {
      sr = nodeHash(sr, c);
    }
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  return sn === 0 && fr.equals(root1) && sr.equals(root2);
}
