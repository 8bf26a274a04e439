import { createHash } from 'node:crypto';
import fc from 'fast-check';
import {
  CompactRange,
  consistencyProof,
  EMPTY_ROOT,
  inclusionProof,
  leafHash,
  leafBinaryOfText,
  leafHashOfText,
  nodeBinary,
  nodeHash,
  rootFromLeaves,
  verifyConsistency,
  verifyInclusion,
} from './merkle';

// Expected values computed without this module: by hand-composed SHA-256 calls, and the published RFC 6962
// test vectors (certificate-transparency / trillian) over these eight leaves.
const sha = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();
const L = (b: Buffer) => sha(Buffer.from([0]), b);
const N = (l: Buffer, r: Buffer) => sha(Buffer.from([1]), l, r);
const hex = (b: Buffer) => b.toString('hex');
const RAW = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const LEAVES = RAW.map(leafHash);
const PUBLISHED_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

describe('RFC 6962 hashing: known answers', () => {
  it('hashes the empty tree, leaves and nodes with the 0x00/0x01 prefixes', () => {
    expect(hex(EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(leafHash(RAW[1])).toEqual(L(RAW[1]));
    expect(nodeHash(LEAVES[0], LEAVES[1])).toEqual(N(LEAVES[0], LEAVES[1]));
    expect(leafHashOfText('{"a":"é"}')).toEqual(L(Buffer.from('{"a":"é"}', 'utf8')));
    // Past its reused buffer's first size, with multi-byte characters, and a short text after a long one.
    const long = `{"a":"${'€😀x'.repeat(20_000)}"}`;
    expect(leafHashOfText(long)).toEqual(L(Buffer.from(long, 'utf8')));
    expect(leafHashOfText('{"b":1}')).toEqual(L(Buffer.from('{"b":1}', 'utf8')));
  });

  it('gives the published roots for trees of 1 to 8 leaves', () => {
    expect(PUBLISHED_ROOTS.map((_, i) => hex(rootFromLeaves(LEAVES.slice(0, i + 1))))).toEqual(PUBLISHED_ROOTS);
  });

  it('splits unbalanced trees at the largest power of two (hand-composed)', () => {
    const [a, b, c, d, e] = RAW.slice(0, 5).map(L);
    expect(rootFromLeaves(LEAVES.slice(0, 3))).toEqual(N(N(a, b), c));
    expect(rootFromLeaves(LEAVES.slice(0, 5))).toEqual(N(N(N(a, b), N(c, d)), e));
  });

  it('gives the published inclusion and consistency proofs', () => {
    const short = (p: Buffer[]) => p.map((h) => hex(h).slice(0, 8));
    expect(short(inclusionProof(LEAVES, 0, 8))).toEqual(['96a296d2', '5f083f0a', '6b47aaf2']);
    expect(short(inclusionProof(LEAVES, 5, 8))).toEqual(['bc1a0643', 'ca854ea1', 'd37ee418']);
    expect(short(inclusionProof(LEAVES, 2, 3))).toEqual(['fac54203']);
    expect(short(inclusionProof(LEAVES, 1, 5))).toEqual(['6e340b9c', '5f083f0a', 'bc1a0643']);
    expect(short(consistencyProof(LEAVES, 1, 8))).toEqual(['96a296d2', '5f083f0a', '6b47aaf2']);
    expect(short(consistencyProof(LEAVES, 6, 8))).toEqual(['0ebc5d34', 'ca854ea1', 'd37ee418']);
    expect(short(consistencyProof(LEAVES, 2, 5))).toEqual(['5f083f0a', 'bc1a0643']);
  });
});

const leavesOf = (n: number) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`entry-${i}`)));

describe('compact range', () => {
  it('has the reference root at every size from 0 to 300', () => {
    const leaves = leavesOf(300);
    const range = CompactRange.empty();
    expect(range.root()).toEqual(EMPTY_ROOT);
    for (let n = 1; n <= 300; n++) {
      range.append(leaves[n - 1]);
      expect(hex(range.root())).toBe(hex(rootFromLeaves(leaves.slice(0, n))));
    }
  });

  it('hashes the same over binary strings as over Buffers (what the compact range keeps), also for damaged lengths', () => {
    const a = createHash('sha256').update('a').digest();
    const b = createHash('sha256').update('b').digest();
    expect(Buffer.from(nodeBinary(a.toString('latin1'), b.toString('latin1')), 'latin1')).toEqual(nodeHash(a, b));
    expect(Buffer.from(leafBinaryOfText('{"a":"é"}'), 'latin1')).toEqual(leafHash(Buffer.from('{"a":"é"}', 'utf8')));
    const short = a.subarray(0, 31);
    expect(Buffer.from(nodeBinary(short.toString('latin1'), b.toString('latin1')), 'latin1')).toEqual(nodeHash(short, b));
  });

  it('resumes from a saved state', () => {
    const leaves = leavesOf(77);
    const a = CompactRange.empty();
    leaves.slice(0, 45).forEach((l) => a.append(l));
    const b = CompactRange.restore(JSON.parse(JSON.stringify(a.state())));
    leaves.slice(45).forEach((l) => b.append(l));
    expect(b.size).toBe(77);
    expect(b.root()).toEqual(rootFromLeaves(leaves));
    expect(() => CompactRange.restore({ size: 45, hashes: [] })).toThrow(/needs 4 hashes/); // 45 = 32 + 8 + 4 + 1
  });
});

describe('proofs', () => {
  const leaves = leavesOf(40);

  it('every inclusion proof verifies, for every leaf of every tree up to 40', () => {
    for (let n = 1; n <= 40; n++) {
      const root = rootFromLeaves(leaves.slice(0, n));
      for (let m = 0; m < n; m++) expect(verifyInclusion(leaves[m], m, n, inclusionProof(leaves, m, n), root)).toBe(true);
    }
  });

  it('every consistency proof verifies, for every pair of sizes up to 40', () => {
    for (let n = 1; n <= 40; n++) {
      const root2 = rootFromLeaves(leaves.slice(0, n));
      for (let m = 1; m <= n; m++) expect(verifyConsistency(m, n, rootFromLeaves(leaves.slice(0, m)), root2, consistencyProof(leaves, m, n))).toBe(true);
    }
  });

  it('refuses a leaf at the wrong index, a wrong tree size, and a proof for a different log', () => {
    const root = rootFromLeaves(leaves.slice(0, 13));
    const proof = inclusionProof(leaves, 5, 13);
    expect(verifyInclusion(leaves[5], 6, 13, proof, root)).toBe(false);
    expect(verifyInclusion(leaves[5], 5, 6, proof, root)).toBe(false);
    expect(verifyInclusion(leaves[5], 13, 13, proof, root)).toBe(false);
    const other = leavesOf(13).map((l, i) => (i === 9 ? leafHash(Buffer.from('changed')) : l));
    expect(verifyConsistency(7, 13, rootFromLeaves(leaves.slice(0, 7)), rootFromLeaves(other), consistencyProof(leaves, 7, 13))).toBe(false);
  });
});

describe('proofs, property-based', () => {
  const flip = (b: Buffer, bit: number) => {
    const c = Buffer.from(b);
    c[Math.floor(bit / 8) % c.length] ^= 1 << (bit % 8);
    return c;
  };
  const arbTree = fc
    .integer({ min: 1, max: 70 })
    .chain((n) => fc.record({ n: fc.constant(n), m: fc.integer({ min: 0, max: n - 1 }), bit: fc.integer({ min: 0, max: 255 }), seed: fc.string() }));

  it('every inclusion proof verifies; any single-bit change to a proof element or the root fails', () => {
    fc.assert(
      fc.property(arbTree, ({ n, m, bit, seed }) => {
        const entries = Array.from({ length: n }, (_, i) => Buffer.from(`${seed}/${i}`));
        const leaves = entries.map(leafHash);
        const root = rootFromLeaves(leaves);
        const proof = inclusionProof(leaves, m, n);
        expect(verifyInclusion(leaves[m], m, n, proof, root)).toBe(true);
        expect(verifyInclusion(leaves[m], m, n, proof, flip(root, bit))).toBe(false);
        proof.forEach((_, i) =>
          expect(
            verifyInclusion(
              leaves[m],
              m,
              n,
              proof.map((p, j) => (j === i ? flip(p, bit) : p)),
              root,
            ),
          ).toBe(false),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('a changed entry no longer verifies', () => {
    fc.assert(
      fc.property(arbTree, ({ n, m, bit, seed }) => {
        const entries = Array.from({ length: n }, (_, i) => Buffer.from(`${seed}/${i}`));
        const leaves = entries.map(leafHash);
        const root = rootFromLeaves(leaves);
        const changed = flip(entries[m], bit);
        expect(verifyInclusion(leafHash(changed), m, n, inclusionProof(leaves, m, n), root)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('every consistency proof verifies; any single-bit change to a proof element or either root fails', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 2, max: 70 })
          .chain((n) => fc.record({ n: fc.constant(n), m: fc.integer({ min: 1, max: n - 1 }), bit: fc.integer({ min: 0, max: 255 }) })),
        ({ n, m, bit }) => {
          const leaves = leavesOf(n);
          const [r1, r2] = [rootFromLeaves(leaves.slice(0, m)), rootFromLeaves(leaves)];
          const proof = consistencyProof(leaves, m, n);
          expect(verifyConsistency(m, n, r1, r2, proof)).toBe(true);
          expect(verifyConsistency(m, n, flip(r1, bit), r2, proof)).toBe(false);
          expect(verifyConsistency(m, n, r1, flip(r2, bit), proof)).toBe(false);
          proof.forEach((_, i) =>
            expect(
              verifyConsistency(
                m,
                n,
                r1,
                r2,
                proof.map((p, j) => (j === i ? flip(p, bit) : p)),
              ),
            ).toBe(false),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('verifiers refuse what is not a position in a tree', () => {
  const leaves = leavesOf(9);
  // Each valid (index, size) pair nudged off the integers, out of range or out of safe-integer range.
  const bent = (a: number, b: number): Array<[number, number]> => [
    [a + 0.5, b],
    [a, b + 0.5],
    [a - 0.5, b],
    [a + 0.25, b + 0.25],
    [a, NaN],
    [NaN, b],
    [a, Infinity],
    [-1, b],
    [a + 2 ** 53, b + 2 ** 53],
  ];

  it('an inclusion proof fails at a fractional, negative, non-finite or unsafe index or tree size', () => {
    expect(verifyInclusion(leaves[0], 0.5, 2, inclusionProof(leaves, 0, 2), rootFromLeaves(leaves.slice(0, 2)))).toBe(false);
    for (let n = 1; n <= 9; n++) {
      const root = rootFromLeaves(leaves.slice(0, n));
      for (let m = 0; m < n; m++) {
        const proof = inclusionProof(leaves, m, n);
        for (const [i, s] of bent(m, n)) expect({ i, s, ok: verifyInclusion(leaves[m], i, s, proof, root) }).toEqual({ i, s, ok: false });
      }
    }
    expect(verifyInclusion(leaves[0], '0' as unknown as number, 1, [], leaves[0])).toBe(false);
  });

  it('a consistency proof fails at fractional, negative, non-finite or unsafe sizes', () => {
    for (let n = 1; n <= 9; n++) {
      const root2 = rootFromLeaves(leaves.slice(0, n));
      for (let m = 1; m <= n; m++) {
        const [root1, proof] = [rootFromLeaves(leaves.slice(0, m)), consistencyProof(leaves, m, n)];
        for (const [a, b] of bent(m, n)) expect({ a, b, ok: verifyConsistency(a, b, root1, root2, proof) }).toEqual({ a, b, ok: false });
      }
    }
  });

  it('the proof builders refuse positions that are not in the tree', () => {
    expect(() => inclusionProof(leaves, 0.5, 2)).toThrow(RangeError);
    expect(() => consistencyProof(leaves, 1.5, 3)).toThrow(RangeError);
    expect(() => CompactRange.restore({ size: 2.5, hashes: [hex(leaves[0])] })).toThrow(/size/);
  });
});

/**
 * A log too large to hold: its leaves are constant over a few long runs, so the root of any range is
 * computed from the runs in O(log² n). Proofs follow RFC 6962 2.1.1/2.1.2 by the definition, without
 * this module's proof builders.
 */
class RunLengthLog {
  private readonly memo = new Map<string, Buffer>();
  /** `runs`: [start index, leaf] pairs, in order, the first at 0. */
  constructor(private readonly runs: Array<[number, Buffer]>) {}

  leaf(i: number): Buffer {
    return [...this.runs].reverse().find(([start]) => start <= i)![1];
  }

  root(from: number, to: number): Buffer {
    const key = `${from}-${to}`;
    const inOneRun = this.runs.every(([start]) => start <= from || start >= to);
    const memoKey = inOneRun ? `run:${hex(this.leaf(from))}:${to - from}` : key;
    let r = this.memo.get(memoKey);
    if (!r) {
      const n = to - from;
      let k = 1;
      while (k * 2 < n) k *= 2;
      r = n === 1 ? this.leaf(from) : N(this.root(from, from + k), this.root(from + k, to));
      this.memo.set(memoKey, r);
    }
    return r;
  }

  inclusion(m: number, from: number, to: number): Buffer[] {
    const n = to - from;
    if (n === 1) return [];
    let k = 1;
    while (k * 2 < n) k *= 2;
    return m < k ? [...this.inclusion(m, from, from + k), this.root(from + k, to)] : [...this.inclusion(m - k, from + k, to), this.root(from, from + k)];
  }

  consistency(m: number, from: number, to: number, complete = true): Buffer[] {
    const n = to - from;
    if (m === n) return complete ? [] : [this.root(from, to)];
    let k = 1;
    while (k * 2 < n) k *= 2;
    return m <= k
      ? [...this.consistency(m, from, from + k, complete), this.root(from + k, to)]
      : [...this.consistency(m - k, from + k, to, false), this.root(from, from + k)];
  }
}

describe('proofs past 2^32 entries (2^53-safe arithmetic)', () => {
  const log = new RunLengthLog([
    [0, L(Buffer.from('a'))],
    [12_345, L(Buffer.from('b'))],
    [2 ** 32 + 7, L(Buffer.from('c'))],
    [2 ** 45 + 3, L(Buffer.from('d'))],
  ]);

  it('the run-length oracle agrees with the reference root on a small log', () => {
    const small = new RunLengthLog([
      [0, LEAVES[0]],
      [3, LEAVES[1]],
      [11, LEAVES[2]],
    ]);
    const leaves = Array.from({ length: 20 }, (_, i) => small.leaf(i));
    expect(hex(small.root(0, 20))).toBe(hex(rootFromLeaves(leaves)));
    expect(small.consistency(5, 0, 20).map(hex)).toEqual(consistencyProof(leaves, 5, 20).map(hex));
    expect(small.inclusion(13, 0, 20).map(hex)).toEqual(inclusionProof(leaves, 13, 20).map(hex));
  });

  it.each([
    [2 ** 32 + 1, 2 ** 33 + 5],
    [3 * 2 ** 31, 2 ** 34],
    [2 ** 32 - 1, 2 ** 32 + 1],
    [5, 2 ** 32 + 1],
    [2 ** 40 + 2 ** 32, 2 ** 46 + 9],
    [2 ** 52 + 1, 2 ** 53 - 1],
  ])('a consistency proof from %d to %d entries verifies, and fails for a neighbouring size', (m, n) => {
    const [root1, root2, proof] = [log.root(0, m), log.root(0, n), log.consistency(m, 0, n)];
    expect(verifyConsistency(m, n, root1, root2, proof)).toBe(true);
    expect(verifyConsistency(m, n + 1, root1, log.root(0, n + 1), proof)).toBe(false);
    expect(verifyConsistency(m, n, root1, log.root(0, n - 1), proof)).toBe(false);
  });

  it('an inclusion proof of an entry past 2^32 verifies at its index only', () => {
    const [i, n] = [2 ** 32 + 7, 2 ** 33 + 1];
    const [root, proof] = [log.root(0, n), log.inclusion(i, 0, n)];
    expect(verifyInclusion(log.leaf(i), i, n, proof, root)).toBe(true);
    expect(verifyInclusion(log.leaf(i), i - 1, n, proof, root)).toBe(false);
    expect(verifyInclusion(log.leaf(i), i, n - 1, proof, root)).toBe(false);
  });
});
