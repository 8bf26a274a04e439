import type { TreeHead } from '@countersign/audit-chain';
import type { HeadStore } from './head-store';
import { spacedHeadStore } from './spaced-head-store';

const head = (treeSize: number, timestamp: string): TreeHead => ({ treeSize, rootHash: 'a'.repeat(64), timestamp, keyId: 'k', signature: 's' });

describe('spacedHeadStore', () => {
  const kept: number[] = [];
  const inner: HeadStore = { write: (h) => void kept.push(h.treeSize) };
  beforeEach(() => (kept.length = 0));

  it('keeps the first head, then one signed at least the interval after the last one kept', () => {
    const store = spacedHeadStore(inner, 60_000);
    store.write(head(1, '2026-12-07T10:00:00.000Z'));
    store.write(head(2, '2026-12-07T10:00:02.000Z'));
    store.write(head(3, '2026-12-07T10:00:59.999Z'));
    store.write(head(4, '2026-12-07T10:01:00.000Z'));
    store.write(head(5, '2026-12-07T10:01:30.000Z'));
    store.write(head(6, '2026-12-07T10:02:05.000Z'));
    expect(kept).toEqual([1, 4, 6]);
  });

  it('keeps a head signed after the clock went back (as the head policy reckons it), and goes on from it', () => {
    const store = spacedHeadStore(inner, 60_000);
    store.write(head(1, '2026-12-07T10:00:00.000Z'));
    store.write(head(2, '2025-12-07T10:00:00.000Z'));
    store.write(head(3, '2025-12-07T10:00:10.000Z'));
    store.write(head(4, '2025-12-07T10:01:00.000Z'));
    expect(kept).toEqual([1, 2, 4]);
  });

  it('keeps every head at 0', () => {
    const store = spacedHeadStore(inner, 0);
    for (let i = 1; i <= 3; i++) store.write(head(i, '2026-12-07T10:00:00.000Z'));
    expect(kept).toEqual([1, 2, 3]);
  });

  it('passes on what the store throws, and keeps the head at the next write', () => {
    let fail = true;
    const store = spacedHeadStore(
      {
        write: (h) => {
          if (fail) throw new Error('disk full');
          kept.push(h.treeSize);
        },
      },
      60_000,
    );
    expect(() => store.write(head(1, '2026-12-07T10:00:00.000Z'))).toThrow('disk full');
    fail = false;
    store.write(head(1, '2026-12-07T10:00:00.000Z'));
    store.write(head(2, '2026-12-07T10:00:01.000Z'));
    expect(kept).toEqual([1]);
  });
});
