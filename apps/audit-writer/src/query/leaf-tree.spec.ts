import { CompactRange, inclusionProof, leafHashOfText, LoggedEntry, rootFromLeaves } from '@countersign/audit-chain';
import type { AuditLogRepository } from '../log-store/audit-log.repository';
import { LEAF_CHUNK, LeafTree, ShortLogError } from './leaf-tree';

// real: LeafTree against the reference functions of libs/audit-chain; fake: the log store (leaf hashes in an array).
const SIZE = 5 * LEAF_CHUNK + 77;
const leaves = Array.from({ length: SIZE }, (_, i) => leafHashOfText(`{"_index":${i}}`));
function store(withLeafHashes = true) {
  const reads: Array<[number, number]> = [];
  const log = {
    range: async (from: number, to: number) => {
      reads.push([from, to]);
      return leaves.slice(from, to).map((_, k): LoggedEntry => ({ index: from + k, bytes: `{"_index":${from + k}}` }));
    },
    ...(withLeafHashes && {
      leafHashes: async (from: number, to: number) => {
        reads.push([from, to]);
        return leaves.slice(from, to).map((l) => l.toString('hex'));
      },
    }),
  } as unknown as AuditLogRepository;
  return { log, reads };
}

describe('LeafTree (proofs and prefixes from the recorded leaf hashes)', () => {
  it('gives the reference roots and proofs, from leaf hashes or from entries', async () => {
    for (const withLeafHashes of [true, false]) {
      const tree = new LeafTree(store(withLeafHashes).log);
      for (const [index, size] of [
        [0, 1],
        [0, SIZE],
        [SIZE - 1, SIZE],
        [LEAF_CHUNK, 2 * LEAF_CHUNK + 1],
        [4000, 4 * LEAF_CHUNK],
        [4321, SIZE - 1],
      ]) {
        expect(await tree.inclusionProof(index, size)).toEqual(inclusionProof(leaves, index, size));
        expect(await tree.root(0, size)).toEqual(rootFromLeaves(leaves, 0, size));
      }
    }
  });

  it('keeps complete subtrees: once warm, a proof reads at most the chunk it is in and the partial one at the end', async () => {
    const { log, reads } = store();
    const tree = new LeafTree(log);
    const read = () => reads.splice(0).reduce((n, [from, to]) => n + to - from, 0);
    await tree.root(0, SIZE);
    expect(read()).toBe(SIZE);
    expect(await tree.inclusionProof(SIZE - 10, SIZE)).toEqual(inclusionProof(leaves, SIZE - 10, SIZE));
    expect(read()).toBeLessThanOrEqual(SIZE % LEAF_CHUNK);
    expect(await tree.inclusionProof(2000, SIZE)).toEqual(inclusionProof(leaves, 2000, SIZE));
    expect(read()).toBeLessThanOrEqual(LEAF_CHUNK + (SIZE % LEAF_CHUNK));
  });

  it('gives the compact range of a prefix, as appending its leaves one by one does', async () => {
    const tree = new LeafTree(store().log);
    for (const size of [0, 1, 1000, 3 * LEAF_CHUNK + 5, SIZE]) {
      const expected = CompactRange.empty();
      for (const l of leaves.slice(0, size)) expected.append(l);
      expect(await tree.compactRange(size)).toEqual(expected.state());
    }
  });

  it('lets the event loop turn while it hashes: a callback queued when it starts runs before it ends', async () => {
    const order: string[] = [];
    const done = new LeafTree(store().log).root(0, SIZE).then(() => order.push('root'));
    setImmediate(() => order.push('other'));
    await done;
    expect(order).toEqual(['other', 'root']);
  });

  it('says when the log is shorter than asked, and keeps nothing of it', async () => {
    const tree = new LeafTree(store().log);
    await expect(tree.root(0, SIZE + 1)).rejects.toThrow(new ShortLogError(`the log has only ${SIZE} entries`));
    expect(await tree.root(0, SIZE)).toEqual(rootFromLeaves(leaves));
  });
});
