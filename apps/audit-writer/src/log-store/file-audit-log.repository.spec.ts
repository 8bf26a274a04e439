import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactRange, entryBytes, entryJson, leafHash, leafHashOfText, verifyEntries } from '@countersign/audit-chain';
import { auditEntry, auditLogSuite, testKeys } from './audit-log.suite';
import { AuditLogTamperedError, FileAuditLogRepository } from './file-audit-log.repository';

// real: the file store on a temporary directory; fake: nothing.
auditLogSuite('file', async () => new FileAuditLogRepository(join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.jsonl')));

describe('FileAuditLogRepository', () => {
  it('only appends to its file, and after a restart continues the chain and drops redelivered events', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.jsonl');
    const first = new FileAuditLogRepository(path);
    await first.appendBatch([auditEntry('e1', 'a1')]);
    const before = readFileSync(path, 'utf8');
    const restarted = new FileAuditLogRepository(path);
    expect(await restarted.tip()).toEqual(await first.tip());
    const tip = await restarted.appendBatch([auditEntry('e1', 'a1'), auditEntry('e2', 'a1')]);
    const after = readFileSync(path, 'utf8');
    expect(after.startsWith(before)).toBe(true);
    expect(after.trim().split('\n')).toHaveLength(2);
    expect(tip.size).toBe(2);
  });

  it('continues a file written before ADR 0029 (a root on every line): old and new lines verify together', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.jsonl');
    // Two lines as the store wrote them before: index, entry, leaf hash and the root after the entry.
    const range = CompactRange.empty();
    const old = ['e1', 'e2'].map((id, index) => {
      const entry = { ...auditEntry(id, 'a1'), _index: index };
      const leaf = leafHash(entryBytes(entry));
      range.append(leaf);
      return JSON.stringify({ index, entry, leafHash: leaf.toString('hex'), root: range.root().toString('hex'), recordedAt: '2026-11-24T10:00:00.000Z' });
    });
    writeFileSync(path, `${old.join('\n')}\n`);
    const log = new FileAuditLogRepository(path);
    const tip = await log.appendBatch([auditEntry('e3', 'a1')]);
    const lines = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => 'root' in l)).toEqual([true, true, false]);
    const ring = testKeys();
    await log.saveHead(ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-11-24T10:00:00Z')));
    expect(verifyEntries(await log.range(0, 3), await log.heads(), ring.verifierKeys())).toMatchObject({ ok: true, treeSize: 3, root: tip.root });
    // An old line changed after the fact still fails on its own.
    const range2 = await log.range(0, 3);
    range2[1] = { ...range2[1], entry: { ...(range2[1].entry as object), decision: 'approved' } };
    expect(verifyEntries(range2, await log.heads(), ring.verifierKeys())).toMatchObject({ ok: false, firstBadIndex: 1 });
  });
});

describe('FileAuditLogRepository, read back after a stop: a file changed outside Countersign is refused', () => {
  type Line = { index: number; entry: Record<string, unknown> & { _index: number }; leafHash: string; recordedAt: string };
  /** Six entries with a signed head after the fourth and one after the sixth, as the writer leaves them. */
  async function written() {
    const path = join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.jsonl');
    const log = new FileAuditLogRepository(path);
    const ring = testKeys();
    for (const ids of [
      ['e0', 'e1', 'e2', 'e3'],
      ['e4', 'e5'],
    ]) {
      const tip = await log.appendBatch(ids.map((id) => auditEntry(id, `a-${id}`)));
      await log.saveHead(ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-12-01T10:00:00Z')));
    }
    const lines = () =>
      readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Line);
    const write = (ls: Line[]) => writeFileSync(path, `${ls.map((l) => JSON.stringify(l)).join('\n')}\n`);
    /** A line as an attacker who knows the format would make it: a consistent leaf hash for its entry. */
    const forged = (index: number, entry: Record<string, unknown>): Line => {
      const placed = { ...entry, _index: index };
      return { index, entry: placed, leafHash: leafHashOfText(entryJson(placed as never)).toString('hex'), recordedAt: '2026-12-01T10:00:00.000Z' };
    };
    const reopen = () => new FileAuditLogRepository(path);
    return { path, lines, write, forged, reopen };
  }
  const refused = (f: { reopen: () => unknown }, problem: RegExp) => {
    expect(f.reopen).toThrow(AuditLogTamperedError);
    expect(f.reopen).toThrow(problem);
  };

  it('reads back an untouched file (the chain continues)', async () => {
    const f = await written();
    expect((await f.reopen().tip()).size).toBe(6);
  });

  it('an entry edited in place (its recorded leaf hash kept)', async () => {
    const f = await written();
    const ls = f.lines();
    ls[2].entry.decision = 'approved';
    f.write(ls);
    refused(f, /entry 2 does not match its recorded leaf hash: it was modified/);
  });

  it('an entry edited with its leaf hash made again: the signed head of its prefix no longer matches', async () => {
    const f = await written();
    const ls = f.lines();
    ls[2] = f.forged(2, { ...ls[2].entry, decision: 'approved' });
    f.write(ls);
    refused(f, /the log's first 4 entries do not have the root of the signed head of that size/);
  });

  it('an entry taken out, the rest renumbered and hashed again: the heads no longer match', async () => {
    const f = await written();
    const ls = f.lines().filter((l) => l.index !== 1);
    f.write(ls.map((l, index) => f.forged(index, l.entry)));
    refused(f, /do not have the root of the signed head/);
  });

  it('the file cut short below a signed head', async () => {
    const f = await written();
    f.write(f.lines().slice(0, 5));
    refused(f, /the log has 5 entries, fewer than the signed head of 6: entries were taken out/);
  });

  it('two lines swapped, or a line repeated', async () => {
    const f = await written();
    const ls = f.lines();
    f.write([ls[0], ls[2], ls[1], ...ls.slice(3)]);
    refused(f, /line 2 holds entry 2 where entry 1 belongs/);
    f.write([...ls, f.forged(6, ls[5].entry)]);
    refused(f, /entry 6 repeats event e5/);
  });

  it('a head in the kept store (heads/) that the log does not match, and a line that does not parse', async () => {
    const f = await written();
    const heads = join(f.path, '..', 'heads');
    mkdirSync(heads);
    writeFileSync(join(heads, 'kept.json'), JSON.stringify({ ...testKeys().sign(3, Buffer.alloc(32, 7), new Date()) }));
    refused(f, /the log's first 3 entries do not have the root of the signed head of that size/);
    writeFileSync(join(heads, 'kept.json'), '{');
    refused(f, /the kept head kept\.json does not parse/);
    writeFileSync(join(heads, 'kept.json'), JSON.stringify({ ...testKeys().sign(3, Buffer.alloc(32, 7), new Date()), treeSize: 99 }));
    refused(f, /fewer than the signed head of 99/);
  });

  it('after a clean stop, an entry appended by someone else is refused at the next start, not adopted (red team, 2026-12-04)', async () => {
    const f = await written();
    const log = f.reopen();
    await log.stoppedCleanly((await log.heads()).at(-1)!);
    // Untouched: the next start reads it, and its first append makes a later tail the writer's own again.
    const next = f.reopen();
    expect((await next.tip()).size).toBe(6);
    // A forged "change approved" with a leaf hash made the writer's way, appended while it was stopped.
    f.write([...f.lines(), f.forged(6, { ...(auditEntry('e6', 'a-e6') as unknown as Record<string, unknown>), eventType: 'policy.change.decided.v1' })]);
    refused(f, /entries 6\.\.6 are past the head the writer stopped cleanly under \(6 entries\): they were added by someone else/);
    // Cut back below it, and a line put back with another root: the log does not end where it stopped.
    f.write(
      f
        .lines()
        .slice(0, 6)
        .map((l, i) => (i === 5 ? f.forged(5, { ...l.entry, actor: { id: 'mallory' } }) : l)),
    );
    refused(f, /do not have the root of the signed head|does not end where the writer stopped cleanly/);
  });

  it("a clean stop is forgotten at the writer's first append: a tail after a later crash is read as the writer's own", async () => {
    const f = await written();
    const log = f.reopen();
    await log.stoppedCleanly((await log.heads()).at(-1)!);
    const running = f.reopen();
    await running.appendBatch([auditEntry('e6', 'a-e6')]);
    expect(existsSync(join(f.path, '..', 'stopped-cleanly.json'))).toBe(false);
    // Killed before its next head: the tail is read as it is.
    expect((await f.reopen().tip()).size).toBe(7);
  });

  it('entries past the newest signed head are read as they are (an unclean stop leaves them; the chain service says so)', async () => {
    const f = await written();
    f.write([...f.lines(), f.forged(6, auditEntry('e6', 'a-e6') as never)]);
    expect((await f.reopen().tip()).size).toBe(7);
  });
});
