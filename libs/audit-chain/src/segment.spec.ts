import { CompactRange, entryBytes, leafHash } from './merkle';
import { exportSegment, LoggedEntry, verifyEntries, verifySegment } from './segment';
import { generateTreeHeadKey, KeyRing, TreeHead } from './tree-head';

const key = generateTreeHeadKey('heads-1', new Date('2026-01-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z'));
const ring = new KeyRing([key.entry]);
const keys = ring.verifierKeys();
const now = new Date('2026-11-24T10:00:00Z');

/** A log of n entries with heads at every 16 entries and at the end, as the audit writer makes it. */
function makeLog(n: number) {
  const range = CompactRange.empty();
  const entries: LoggedEntry[] = [];
  const heads: TreeHead[] = [];
  for (let i = 0; i < n; i++) {
    const entry = { _index: i, eventId: `e-${i}`, eventType: 'policy.decision.made.v1', actionId: `a-${i % 7}`, data: { lane: i % 3 ? 'review' : 'autonomous' } };
    const leaf = leafHash(entryBytes(entry));
    range.append(leaf);
    entries.push({ index: i, entry, leafHash: leaf.toString('hex'), root: range.root().toString('hex') });
    if ((i + 1) % 16 === 0 || i === n - 1) heads.push(ring.sign(i + 1, range.root(), now));
  }
  return { entries, heads };
}

const lines = (text: string) => text.trimEnd().split('\n');
const entryLine = (ls: string[], index: number) => ls.findIndex((l) => l.startsWith(`{"kind":"entry","index":${index},`));

describe('segments', () => {
  const { entries, heads } = makeLog(50);
  const text = exportSegment(entries, heads);

  it('verifies an untouched segment offline, checking every head', () => {
    expect(verifySegment(text, keys)).toEqual({ ok: true, treeSize: 50, root: heads[heads.length - 1].rootHash, headsChecked: 4 });
  });

  it('checks recorded roots where no leaf hash was recorded', () => {
    const rootsOnly = entries.map(({ leafHash: _, ...e }) => e);
    expect(verifyEntries(rootsOnly, heads, keys)).toMatchObject({ ok: true, treeSize: 50 });
    rootsOnly[9] = { ...rootsOnly[9], entry: { ...(rootsOnly[9].entry as object), eventId: 'changed' } };
    expect(verifyEntries(rootsOnly, heads, keys)).toEqual({ ok: false, firstBadIndex: 9, problem: 'entry 9 does not reproduce its recorded root: modified, or moved' });
  });

  it('verifies a segment that starts mid-log from its prefix', () => {
    const range = CompactRange.empty();
    entries.slice(0, 32).forEach((e) => range.append(leafHash(entryBytes(e.entry))));
    const tail = exportSegment(entries.slice(32), heads.filter((h) => h.treeSize > 32), range.state());
    expect(verifySegment(tail, keys)).toMatchObject({ ok: true, treeSize: 50 });
  });

  it('detects a modified entry and names it', () => {
    const ls = lines(text);
    const i = entryLine(ls, 20);
    const parsed = JSON.parse(ls[i]);
    parsed.entry.data.lane = 'autonomous';
    ls[i] = JSON.stringify(parsed);
    expect(verifySegment(ls.join('\n'), keys)).toEqual({ ok: false, firstBadIndex: 20, problem: 'entry 20 does not match its recorded leaf hash: modified' });
  });

  it('detects a deleted entry', () => {
    const ls = lines(text);
    ls.splice(entryLine(ls, 20), 1);
    expect(verifySegment(ls.join('\n'), keys)).toEqual({ ok: false, firstBadIndex: 20, problem: 'entry 20 is missing (found 21)' });
  });

  it('detects an inserted entry', () => {
    const ls = lines(text);
    const forged = { kind: 'entry', index: 20, root: JSON.parse(ls[entryLine(ls, 20)]).root, entry: { eventId: 'forged', eventType: 'review.decision.made.v1', data: { decision: 'approved' } } };
    ls.splice(entryLine(ls, 20), 0, JSON.stringify(forged));
    expect(verifySegment(ls.join('\n'), keys)).toMatchObject({ ok: false, firstBadIndex: 20 });
  });

  it('detects reordered entries', () => {
    const ls = lines(text);
    const [a, b] = [entryLine(ls, 20), entryLine(ls, 21)];
    [ls[a], ls[b]] = [ls[b], ls[a]];
    expect(verifySegment(ls.join('\n'), keys)).toEqual({ ok: false, firstBadIndex: 20, problem: 'entry 20 is missing (found 21)' });
    // …also when the indices are renumbered to hide it.
    const renumbered = lines(text);
    const x = JSON.parse(renumbered[entryLine(renumbered, 20)]);
    const y = JSON.parse(renumbered[entryLine(renumbered, 21)]);
    [x.entry, y.entry] = [y.entry, x.entry];
    renumbered[entryLine(renumbered, 20)] = JSON.stringify(x);
    renumbered[entryLine(renumbered, 21)] = JSON.stringify(y);
    expect(verifySegment(renumbered.join('\n'), keys)).toMatchObject({ ok: false, firstBadIndex: 20 });
  });

  it('detects truncation, also when cut exactly at a head, given the heads kept in the head store', () => {
    const ls = lines(text);
    const cutMidway = ls.slice(0, entryLine(ls, 40));
    expect(verifySegment(cutMidway.join('\n'), keys)).toEqual({ ok: false, firstBadIndex: 32, problem: 'entries from 32 on are not covered by any signed tree head' });
    const cutAtHead = ls.slice(0, entryLine(ls, 32));
    expect(verifySegment(cutAtHead.join('\n'), keys)).toMatchObject({ ok: true, treeSize: 32 });
    expect(verifySegment(cutAtHead.join('\n'), keys, heads)).toEqual({ ok: false, firstBadIndex: 32, problem: 'truncated: the signed tree head covers 50 entries, only 32 are present' });
  });

  it('detects a forged tree-head signature', () => {
    const ls = lines(text);
    const h = ls.findIndex((l) => l.includes('"treeSize":32'));
    const parsed = JSON.parse(ls[h]);
    parsed.treeHead.signature = Buffer.from('forged'.repeat(11)).toString('base64');
    ls[h] = JSON.stringify(parsed);
    expect(verifySegment(ls.join('\n'), keys)).toEqual({ ok: false, firstBadIndex: 31, problem: 'tree head of size 32 has an invalid signature' });
  });

  it('detects a rewritten log whose recorded roots were recomputed, at the first head that no longer matches', () => {
    const rewritten = entries.map((e) => ({ ...e, entry: structuredClone(e.entry) as { data: { lane: string } } }));
    rewritten[20].entry.data.lane = 'autonomous';
    const range = CompactRange.empty();
    for (const e of rewritten) {
      const leaf = leafHash(entryBytes(e.entry));
      range.append(leaf);
      e.leafHash = leaf.toString('hex');
      e.root = range.root().toString('hex');
    }
    expect(verifyEntries(rewritten, heads, keys)).toEqual({ ok: false, firstBadIndex: 31, problem: 'the signed tree head of size 32 does not match the log: entries up to 31 were rewritten' });
  });
});
