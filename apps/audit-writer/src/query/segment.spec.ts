import { CompactRange, exportSegment, LoggedEntry, TreeHead } from '@countersign/audit-chain';
import type { AuditLogRepository, HeadRange } from '../log-store/audit-log.repository';
import { leafOf, selectHeads } from '../log-store/audit-log.repository';
import { LEAF_CHUNK } from './leaf-tree';
import { buildSegment, openSegment, SegmentRangeError } from './segment';

// real: buildSegment, openSegment, the leaf tree and the segment format; fake: the log store (entries in an array: only `heads` and `range` are read).
const SIZE = 25_000; // more than two pages of 10,000
const entries: LoggedEntry[] = Array.from({ length: SIZE }, (_, index) => ({ index, bytes: JSON.stringify({ n: index }) }));
const heads = [10_000, 20_000, 23_456, SIZE].map((treeSize) => ({ treeSize }) as TreeHead);
const reads: Array<[number, number]> = [];
const log = {
  heads: async (range?: HeadRange) => selectHeads(heads, range),
  range: async (from: number, to: number) => {
    reads.push([from, to]);
    return entries.slice(from, to);
  },
} as unknown as AuditLogRepository;

/** The segment as cut before paging: the prefix in one read, the entries in one. */
function expected(from: number, to: number): string {
  const prefix = CompactRange.empty();
  for (const e of entries.slice(0, from)) prefix.append(leafOf(e));
  return exportSegment(
    entries.slice(from, to),
    heads.filter((h) => h.treeSize > from && h.treeSize <= to),
    prefix.state(),
  );
}

describe('buildSegment', () => {
  beforeEach(() => void reads.splice(0));

  it('reads page by page across page boundaries and cuts the same segment as one read would', async () => {
    const progress: Array<[number, number]> = [];
    expect(await buildSegment(log, 12_345, 23_456, (read, total) => progress.push([read, total]))).toBe(expected(12_345, 23_456));
    // The prefix's leaves are read a chunk at a time by the leaf tree (leaf-tree.spec.ts); the entries a page at a time.
    expect(reads.filter(([from]) => from >= 12_345)).toEqual([
      [12_345, 22_345],
      [22_345, 23_456],
    ]);
    expect(reads.filter(([from]) => from < 12_345).every(([from, to]) => to <= 12_345 && to - from <= LEAF_CHUNK)).toBe(true);
    // Progress counts the entries read of all `to`, ending at all of them.
    expect(progress).toEqual([
      [12_345, 23_456],
      [22_345, 23_456],
      [23_456, 23_456],
    ]);
  });

  it('refuses more entries than its limit, naming the last signed head within it to page at', async () => {
    await expect(openSegment(log, 0, SIZE, { maxEntries: 12_000 })).rejects.toThrow(
      new SegmentRangeError(`a segment holds at most 12000 entries, and 0..${SIZE} has ${SIZE}: page with from and to (from=0&to=10000, then from=10000)`),
    );
    await expect(openSegment(log, 23_456, SIZE, { maxEntries: 1_000 })).rejects.toThrow(
      new SegmentRangeError(
        `a segment holds at most 1000 entries, and 23456..${SIZE} has ${SIZE - 23_456}: page with from and to (no signed head lies within 1000 entries of 23456)`,
      ),
    );
    expect(reads).toEqual([]);
    const pieces: string[] = [];
    for await (const piece of await openSegment(log, 10_000, 20_000, { maxEntries: 10_000 })) pieces.push(piece);
    // In pieces of at most 1,000 entries, never one string.
    expect(pieces.length).toBeGreaterThanOrEqual(11);
    expect(pieces.join('')).toBe(expected(10_000, 20_000));
  });

  it('defaults to the newest head, from the start', async () => {
    expect(await buildSegment(log)).toBe(expected(0, SIZE));
  });

  it('refuses an empty range', async () => {
    await expect(buildSegment(log, 5, 5)).rejects.toThrow(SegmentRangeError);
  });

  it('refuses a range past the newest signed head, reading nothing', async () => {
    await expect(buildSegment(log, 0, SIZE + 1)).rejects.toThrow(
      new SegmentRangeError(`to: ${SIZE + 1} is past the newest signed head (${SIZE} entries): no signed head covers it yet`),
    );
    await expect(buildSegment(log, 0, 999_999_999)).rejects.toThrow(SegmentRangeError);
    expect(reads).toEqual([]);
  });

  it('refuses a range that does not end at a signed head (its last entries would not verify), naming the nearest, reading nothing', async () => {
    await expect(buildSegment(log, 0, 15_000)).rejects.toThrow(
      new SegmentRangeError('to: no signed head has 15000 entries: a segment ends at a signed head (the nearest: 10000 or 20000)'),
    );
    await expect(buildSegment(log, 12_000, 15_000)).rejects.toThrow(
      new SegmentRangeError('to: no signed head has 15000 entries: a segment ends at a signed head (the nearest: 20000)'),
    );
    expect(reads).toEqual([]);
  });
});
