import { CompactRange, entryBytes, leafHash } from './merkle';
import { exportSegment, LoggedEntry, verifyEntries, verifySegment } from './segment';
import { sign } from 'node:crypto';
import { generateTreeHeadKey, keyFingerprint, KeyRing, TreeHead, treeHeadSigningBytes } from './tree-head';

const key = generateTreeHeadKey('heads-1', new Date('2026-01-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z'));
const ring = new KeyRing([key.entry]);
const keys = ring.verifierKeys();
const now = new Date('2026-11-24T10:00:00Z');
/** What a verification of the whole log reports about its signer: one key, four heads. */
const signers = [{ keyId: 'heads-1', fingerprint: keyFingerprint(key.entry.privateKey), heads: 4, first: now.toISOString(), last: now.toISOString() }];

/** A log of n entries with heads at every 16 entries and at the end, as the audit writer makes it. */
function makeLog(n: number) {
  const range = CompactRange.empty();
  const entries: LoggedEntry[] = [];
  const heads: TreeHead[] = [];
  for (let i = 0; i < n; i++) {
    const entry = {
      _index: i,
      eventId: `e-${i}`,
      eventType: 'policy.decision.made.v1',
      actionId: `a-${i % 7}`,
      data: { lane: i % 3 ? 'review' : 'autonomous' },
    };
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
    expect(verifySegment(text, keys)).toEqual({ ok: true, treeSize: 50, root: heads[heads.length - 1].rootHash, headsChecked: 4, signers, checkedFrom: 0 });
  });

  it('counts a head line given twice once (red team, 2026-12-04: "5 signed heads" for 4)', () => {
    const ls = lines(text);
    const head = ls.findIndex((l) => l.startsWith('{"kind":"head"'));
    const doubled = [...ls.slice(0, head + 1), ls[head], ...ls.slice(head + 1)];
    expect(verifySegment(`${doubled.join('\n')}\n`, keys)).toEqual({
      ok: true,
      treeSize: 50,
      root: heads[heads.length - 1].rootHash,
      headsChecked: 4,
      signers,
      checkedFrom: 0,
    });
  });

  it('writes version 2: each entry line carries its leaf hash and no root (the heads carry the roots, ADR 0029)', () => {
    const ls = lines(text);
    expect(JSON.parse(ls[0])).toMatchObject({ kind: 'segment', version: 2 });
    const line = JSON.parse(ls[entryLine(ls, 20)]);
    expect(line).toEqual({ kind: 'entry', index: 20, leafHash: entries[20].leafHash, entry: entries[20].entry });
  });

  it('still verifies a version 1 segment (a root and a leaf hash per entry), and finds a modified entry in one', () => {
    // The lines as the version 1 exporter wrote them.
    const v1 = [JSON.stringify({ kind: 'segment', version: 1, prefix: { size: 0, hashes: [] } })];
    for (const e of entries) {
      v1.push(JSON.stringify({ kind: 'entry', index: e.index, leafHash: e.leafHash, root: e.root, entry: e.entry }));
      for (const h of heads.filter((x) => x.treeSize === e.index + 1)) v1.push(JSON.stringify({ kind: 'head', treeHead: h }));
    }
    expect(verifySegment(`${v1.join('\n')}\n`, keys)).toEqual({
      ok: true,
      treeSize: 50,
      root: heads[heads.length - 1].rootHash,
      headsChecked: 4,
      signers,
      checkedFrom: 0,
    });
    // A version 1 segment whose entries carry roots only: each root is checked.
    const rootsOnly = v1.map((l) => {
      const parsed = JSON.parse(l);
      if (parsed.kind !== 'entry') return l;
      delete parsed.leafHash;
      if (parsed.index === 9) parsed.entry.eventId = 'changed';
      return JSON.stringify(parsed);
    });
    expect(verifySegment(rootsOnly.join('\n'), keys)).toEqual({
      ok: false,
      firstBadIndex: 9,
      problem: 'entry 9 does not reproduce its recorded root: modified, or moved',
    });
    expect(verifySegment(text.replace('"version":2', '"version":3'), keys)).toEqual({
      ok: false,
      firstBadIndex: 0,
      problem: 'not a version 1 or 2 segment file',
    });
  });

  it('refuses an entry that records neither a leaf hash nor a root', () => {
    const bare = entries.map(({ leafHash: _l, root: _r, ...e }) => e);
    expect(verifyEntries(bare, heads, keys)).toEqual({
      ok: false,
      firstBadIndex: 0,
      problem: 'entry 0 does not reproduce its recorded root: modified, or moved',
    });
  });

  it('names the first entry when no signed tree head covers any (red team, 2026-12-07: it named the last)', () => {
    expect(verifyEntries(entries, [], keys)).toEqual({ ok: false, firstBadIndex: 0, problem: 'no signed tree head covers these entries' });
  });

  it('checks recorded roots where no leaf hash was recorded', () => {
    const rootsOnly = entries.map(({ leafHash: _, ...e }) => e);
    expect(verifyEntries(rootsOnly, heads, keys)).toMatchObject({ ok: true, treeSize: 50 });
    rootsOnly[9] = { ...rootsOnly[9], entry: { ...(rootsOnly[9].entry as object), eventId: 'changed' } };
    expect(verifyEntries(rootsOnly, heads, keys)).toEqual({
      ok: false,
      firstBadIndex: 9,
      problem: 'entry 9 does not reproduce its recorded root: modified, or moved',
    });
  });

  it('verifies a segment that starts mid-log from its prefix', () => {
    const range = CompactRange.empty();
    entries.slice(0, 32).forEach((e) => range.append(leafHash(entryBytes(e.entry))));
    const tail = exportSegment(
      entries.slice(32),
      heads.filter((h) => h.treeSize > 32),
      range.state(),
    );
    // The 32 entries before it are only vouched for by the signed root: the result says where the checked ones begin.
    expect(verifySegment(tail, keys)).toMatchObject({ ok: true, treeSize: 50, checkedFrom: 32 });
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
    const forged = {
      kind: 'entry',
      index: 20,
      root: JSON.parse(ls[entryLine(ls, 20)]).root,
      entry: { eventId: 'forged', eventType: 'review.decision.made.v1', data: { decision: 'approved' } },
    };
    ls.splice(entryLine(ls, 20), 0, JSON.stringify(forged));
    expect(verifySegment(ls.join('\n'), keys)).toMatchObject({ ok: false, firstBadIndex: 20 });
  });

  it('names an inserted entry that carries a correct leaf hash at the index it took, not the genuine entry after it', () => {
    const ls = lines(text);
    const entry = { _index: 20, eventId: 'forged', eventType: 'review.decision.made.v1', actionId: 'a-6', data: { decision: 'approved' } };
    const forged = { kind: 'entry', index: 20, leafHash: leafHash(entryBytes(entry)).toString('hex'), root: JSON.parse(ls[entryLine(ls, 20)]).root, entry };
    ls.splice(entryLine(ls, 20), 0, JSON.stringify(forged));
    expect(verifySegment(ls.join('\n'), keys)).toEqual({
      ok: false,
      firstBadIndex: 20,
      problem: 'entry 20 appears twice (again at position 21): an entry was inserted or repeated at 20',
    });
    // A genuine line repeated further on is named by its index as well.
    const repeated = lines(text);
    repeated.splice(entryLine(repeated, 25), 0, repeated[entryLine(repeated, 20)]);
    expect(verifySegment(repeated.join('\n'), keys)).toMatchObject({ ok: false, firstBadIndex: 20, problem: expect.stringContaining('appears twice') });
  });

  it('refuses an entry without an integer index', () => {
    const broken = entries.map((e, i) => (i === 7 ? { ...e, index: 7.5 } : e));
    expect(verifyEntries(broken, heads, keys)).toEqual({ ok: false, firstBadIndex: 7, problem: 'the entry at position 7 has no valid index (7.5)' });
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
    expect(verifySegment(cutMidway.join('\n'), keys)).toEqual({
      ok: false,
      firstBadIndex: 32,
      problem: 'entries from 32 on are not covered by any signed tree head',
    });
    const cutAtHead = ls.slice(0, entryLine(ls, 32));
    expect(verifySegment(cutAtHead.join('\n'), keys)).toMatchObject({ ok: true, treeSize: 32 });
    expect(verifySegment(cutAtHead.join('\n'), keys, heads)).toEqual({
      ok: false,
      firstBadIndex: 32,
      problem: 'truncated: the signed tree head covers 50 entries, only 32 are present',
    });
  });

  it('checks the signature of a head past the end: a forged one fails as forged, a genuine one reports truncation', () => {
    const cut = entries.slice(0, 40);
    const forged = { ...ring.sign(60, Buffer.alloc(32), now), signature: Buffer.from('forged'.repeat(11)).toString('base64') };
    expect(verifyEntries(cut, [...heads, forged], keys)).toEqual({ ok: false, firstBadIndex: 40, problem: 'tree head of size 60 has an invalid signature' });
    const stranger = new KeyRing([generateTreeHeadKey('stranger', new Date('2026-01-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z')).entry]);
    const foreign = stranger.sign(60, Buffer.alloc(32), now);
    const unknown = 'tree head of size 60 is signed by unknown key "stranger"';
    expect(verifyEntries(cut, [...heads, foreign], keys)).toEqual({ ok: false, firstBadIndex: 40, problem: unknown });
    // A forged head in the head store, past the end of a segment cut exactly at one of its heads.
    const ls = lines(text);
    const cutAtHead = ls.slice(0, entryLine(ls, 32)).join('\n');
    expect(verifySegment(cutAtHead, keys, [forged])).toEqual({ ok: false, firstBadIndex: 32, problem: 'tree head of size 60 has an invalid signature' });
    // Genuine heads past the end: truncation, reported once their signatures verify.
    const truncated = 'truncated: the signed tree head covers 50 entries, only 40 are present';
    expect(verifyEntries(cut, heads, keys)).toEqual({ ok: false, firstBadIndex: 40, problem: truncated });
  });

  it('refuses a head whose size is no tree size, even when signed', () => {
    const head = { treeSize: 32.5, rootHash: '00'.repeat(32), timestamp: now.toISOString(), keyId: 'heads-1' };
    const signed = { ...head, signature: sign(null, treeHeadSigningBytes(head), key.entry.privateKey).toString('base64') };
    expect(() => ring.sign(32.5, Buffer.alloc(32), now)).toThrow(RangeError);
    const problem = 'tree head of size 32.5 is malformed: its size is not an integer from 0 to 2^53 - 1';
    expect(verifyEntries(entries, [...heads, signed], keys)).toEqual({ ok: false, firstBadIndex: 0, problem });
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
    expect(verifyEntries(rewritten, heads, keys)).toEqual({
      ok: false,
      firstBadIndex: 31,
      problem: 'the signed tree head of size 32 does not match the log: entries up to 31 were rewritten',
    });
  });

  it("refuses a root recorded beside a leaf hash that is not the log's root there (entries from before ADR 0029)", () => {
    const edited = entries.map((e, i) => (i === 12 ? { ...e, root: entries[13].root } : e));
    expect(verifyEntries(edited, heads, keys)).toEqual({
      ok: false,
      firstBadIndex: 12,
      problem: "entry 12 records a root that is not the log's root there: its recorded root was edited",
    });
  });

  it('reads each line strictly: a duplicate key, a field the exporter does not write, an unknown kind of line', () => {
    const ls = lines(text);
    const i = entryLine(ls, 20);
    // With JSON.parse the last "lane" wins and the entry hashes as the genuine one; a reader taking the first sees another.
    const lane = /"lane":"(\w+)"/.exec(ls[i])![1];
    const twice = [...ls];
    twice[i] = ls[i].replace(`"lane":"${lane}"`, `"lane":"${lane === 'review' ? 'autonomous' : 'review'}","lane":"${lane}"`);
    expect(verifySegment(twice.join('\n'), keys)).toEqual({
      ok: false,
      firstBadIndex: 20,
      problem: 'the line after entry 19 does not parse (duplicate key "lane" in the object at /entry/data)',
    });
    const noted = [...ls];
    noted[i] = ls[i].replace('{"kind":"entry",', '{"kind":"entry","note":"approved by phone",');
    expect(verifySegment(noted.join('\n'), keys)).toMatchObject({ ok: false, firstBadIndex: 20, problem: expect.stringContaining('has a field "note"') });
    const other = [...ls.slice(0, i), '{"kind":"comment","text":"x"}', ...ls.slice(i)];
    expect(verifySegment(other.join('\n'), keys)).toMatchObject({ ok: false, firstBadIndex: 20, problem: expect.stringContaining('unknown kind ("comment")') });
    const h = ls.findIndex((l) => l.includes('"treeSize":32'));
    const extraHead = [...ls];
    extraHead[h] = ls[h].replace('"treeSize":32', '"treeSize":32,"comment":"x"');
    expect(verifySegment(extraHead.join('\n'), keys)).toMatchObject({
      ok: false,
      problem: expect.stringContaining('a field "comment" that heads do not have'),
    });
  });

  it('refuses a line that reads the same as the exported one but is written otherwise: an escape, spaces', () => {
    const ls = lines(text);
    const i = entryLine(ls, 20);
    const lane = /"lane":"(\w+)"/.exec(ls[i])![1];
    const rewrites = [
      ls[i].replace(`"lane":"${lane}"`, `"lane":"\\u00${lane.charCodeAt(0).toString(16)}${lane.slice(1)}"`),
      ls[i].replace('{"kind":"entry",', '{"kind": "entry",'),
    ];
    for (const rewritten of rewrites) {
      expect(rewritten).not.toBe(ls[i]);
      // The same values: what the entry hashes as is unchanged.
      expect(JSON.parse(rewritten)).toEqual(JSON.parse(ls[i]));
      const copy = [...ls];
      copy[i] = rewritten;
      expect(verifySegment(copy.join('\n'), keys)).toEqual({
        ok: false,
        firstBadIndex: 20,
        problem: 'the line after entry 19 is not written as the exporter writes it (the same values in other bytes: an escape, spaces): the file was rewritten',
      });
    }
    const header = [ls[0].replace('{"kind":"segment",', '{"kind":"segment", '), ...ls.slice(1)];
    expect(verifySegment(header.join('\n'), keys)).toMatchObject({
      ok: false,
      firstBadIndex: 0,
      problem: expect.stringContaining('the header line is not written as the exporter'),
    });
  });

  describe('with pinned keys and recorded heads (audit verify --trust, --head)', () => {
    const stranger = generateTreeHeadKey('heads-1-again', new Date('2026-01-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z'));
    const both = [...keys, ...new KeyRing([stranger.entry]).verifierKeys()];
    const genuine = keyFingerprint(key.entry.privateKey);
    const last = heads[heads.length - 1];

    /** The log rewritten at entry 20 (lane flipped), leaf hashes recomputed and every head signed again by `stranger`. */
    function resigned() {
      const range = CompactRange.empty();
      const forgedHeads: TreeHead[] = [];
      const rewritten = entries.map((e) => {
        const entry = structuredClone(e.entry) as { data: { lane: string } };
        if (e.index === 20) entry.data.lane = entry.data.lane === 'review' ? 'autonomous' : 'review';
        const leaf = leafHash(entryBytes(entry));
        range.append(leaf);
        const size = e.index + 1;
        if (heads.some((h) => h.treeSize === size)) forgedHeads.push(new KeyRing([stranger.entry]).sign(size, range.root(), now));
        return { index: e.index, entry, leafHash: leaf.toString('hex') };
      });
      return { rewritten, forgedHeads };
    }

    it('accepts a log signed again by another key it is given, unless the keys are pinned: then names the key and its fingerprint', () => {
      const { rewritten, forgedHeads } = resigned();
      const unpinned = verifyEntries(rewritten, forgedHeads, both);
      expect(unpinned).toMatchObject({
        ok: true,
        treeSize: 50,
        signers: [{ keyId: 'heads-1-again', fingerprint: keyFingerprint(stranger.entry.privateKey), heads: 4 }],
      });
      expect(verifyEntries(rewritten, forgedHeads, both, undefined, { pinned: [genuine] })).toEqual({
        ok: false,
        firstBadIndex: 15,
        problem: `tree head of size 16 (signed ${now.toISOString()}) is signed by key heads-1-again, fingerprint ${keyFingerprint(stranger.entry.privateKey)}, which is not pinned`,
      });
      expect(verifyEntries(entries, heads, both, undefined, { pinned: [genuine] })).toMatchObject({ ok: true, treeSize: 50, signers });
    });

    it('requires every recorded head: a log cut back to an earlier head, and one rewritten and signed again, fail', () => {
      const anchors = [{ treeSize: last.treeSize, rootHash: last.rootHash }];
      expect(verifyEntries(entries, heads, keys, undefined, { anchors })).toMatchObject({ ok: true, treeSize: 50 });
      // Cut back to the head of 32, the later heads gone: every head left verifies.
      const cut = entries.slice(0, 32);
      const earlier = heads.filter((h) => h.treeSize <= 32);
      expect(verifyEntries(cut, earlier, keys)).toMatchObject({ ok: true, treeSize: 32 });
      expect(verifyEntries(cut, earlier, keys, undefined, { anchors })).toEqual({
        ok: false,
        firstBadIndex: 32,
        problem: `truncated: the recorded head 50:${last.rootHash} covers 50 entries, only 32 are present`,
      });
      // Rewritten and signed again with a key the verifier is given (a stolen or an added one): the recorded root differs.
      const { rewritten, forgedHeads } = resigned();
      const at32 = heads.find((h) => h.treeSize === 32)!;
      expect(verifyEntries(rewritten, forgedHeads, both, undefined, { anchors: [{ treeSize: 32, rootHash: at32.rootHash }] })).toEqual({
        ok: false,
        firstBadIndex: 31,
        problem: `the log's first 32 entries have root ${forgedHeads[1].rootHash}, not the recorded head's ${at32.rootHash}: entries up to 31 were rewritten`,
      });
    });

    it('refuses a malformed recorded head, and one a segment starts after', () => {
      expect(verifyEntries(entries, heads, keys, undefined, { anchors: [{ treeSize: 50, rootHash: last.rootHash.toUpperCase() }] })).toMatchObject({
        ok: false,
        problem: 'the recorded head of size 50 is malformed: its root is not a lower-case hex SHA-256',
      });
      const range = CompactRange.empty();
      entries.slice(0, 32).forEach((e) => range.append(leafHash(entryBytes(e.entry))));
      const tail = exportSegment(
        entries.slice(32),
        heads.filter((h) => h.treeSize > 32),
        range.state(),
      );
      const at16 = heads.find((h) => h.treeSize === 16)!;
      expect(verifySegment(tail, keys, [], { anchors: [{ treeSize: 16, rootHash: at16.rootHash }] })).toMatchObject({
        ok: false,
        problem: expect.stringContaining('lies before this segment (from 32)'),
      });
      // At the segment's start, its prefix gives the root.
      const at32 = heads.find((h) => h.treeSize === 32)!;
      expect(verifySegment(tail, keys, [], { anchors: [{ treeSize: 32, rootHash: at32.rootHash }] })).toMatchObject({ ok: true, treeSize: 50 });
    });
  });
});
