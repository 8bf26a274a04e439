import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactRange, entryBytes, entryJson, generateTreeHeadKey, KeyRing, leafHash, leafHashOfText, verifyEntries } from '@countersign/audit-chain';
import type { AuditEntry } from '@countersign/audit-chain';
import { buildEnvelope } from '@countersign/bus';
import { EventData, TOPICS } from '@countersign/contracts';
import { FileHeadStore } from '../chain/file-head-store';
import { writerEntry, writerEventOptions, WriterTopic } from '../chain/writer-entries';
import { verifyAuditFile } from '../cli/audit-commands';
import { auditEntry, auditLogSuite, testKeys } from './audit-log.suite';
import { AuditLogTamperedError, FileAuditLogRepository, readJsonLines } from './file-audit-log.repository';

// real: the file store on a temporary directory; fake: nothing.
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
/** One of the audit writer's own entries, as its chain service builds it (the bus's envelope, then the entry). */
const own = <T extends WriterTopic>(topic: T, data: EventData<T>, time = new Date('2026-12-04T10:00:00Z')): AuditEntry =>
  writerEntry(topic, buildEnvelope(topic, data, 'countersign-embedded', writerEventOptions(topic, data, time)));

auditLogSuite('file', async () => new FileAuditLogRepository(join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.jsonl')));

describe('FileAuditLogRepository', () => {
  it('keeps its pseudonym key beside the log, readable by its owner only, and stops at a key file that is not one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-'));
    const key = await new FileAuditLogRepository(join(dir, 'audit.jsonl')).pseudonymKey();
    expect(statSync(join(dir, 'pseudonym.key')).mode & 0o777).toBe(0o600);
    expect(await new FileAuditLogRepository(join(dir, 'audit.jsonl')).pseudonymKey()).toEqual(key);
    writeFileSync(join(dir, 'pseudonym.key'), 'not a key\n');
    // Refused as the log opens, not at the first append: nothing runs unaudited meanwhile (upgrade probe, 2026-12-05).
    expect(() => new FileAuditLogRepository(join(dir, 'audit.jsonl'))).toThrow(AuditLogTamperedError);
  });

  it('keeps its pseudonym key where it is told, and stops when it is lost once entries were kept under it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'audit-'));
    const keyFile = join(dir, 'keys', 'audit-pseudonym.key');
    const log = new FileAuditLogRepository(join(dir, 'audit', 'audit.jsonl'), { pseudonymKeyFile: keyFile });
    // Made as the log opens, so that a home lists it from its first start.
    expect(existsSync(keyFile)).toBe(true);
    expect(readdirSync(join(dir, 'audit'))).not.toContain('pseudonym.key');
    await log.appendBatch([auditEntry('e1', 'a1', { pseudonymised: { keyed: ['/data/digest'], dropped: [] } })]);
    rmSync(keyFile);
    expect(() => new FileAuditLogRepository(join(dir, 'audit', 'audit.jsonl'), { pseudonymKeyFile: keyFile })).toThrow(
      /pseudonym key .* is missing, though entries were kept under it/,
    );
    expect(existsSync(keyFile)).toBe(false);
  });

  it('reads entries back from its file when asked for, multi-byte text and a line written without its newline included (soak, 2026-12-06)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.jsonl');
    const first = new FileAuditLogRepository(path);
    await first.appendBatch([auditEntry('e1', 'a1', { data: { note: 'Zoë’s refund — 12 €' } }), auditEntry('e2', 'a2')]);
    // The last newline lost (the write was cut just before it): the line is whole, and read as an entry.
    writeFileSync(path, readFileSync(path, 'utf8').replace(/\n$/, ''));
    const restarted = new FileAuditLogRepository(path);
    await restarted.appendBatch([auditEntry('e3', 'a1', { data: { note: '日本語' } })]);
    const again = new FileAuditLogRepository(path);
    for (const log of [restarted, again]) {
      expect((await log.query({ actionId: 'a1' })).map((s) => [s.index, s.entry.eventId, (s.entry.data as { note?: string }).note])).toEqual([
        [0, 'e1', 'Zoë’s refund — 12 €'],
        [2, 'e3', '日本語'],
      ]);
      expect((await log.range(1, 3)).map((e) => (e.entry as AuditEntry).eventId)).toEqual(['e2', 'e3']);
      expect(await log.leafHashes(0, 3)).toEqual((await log.range(0, 3)).map((e) => e.leafHash));
      expect(await log.extent()).toBe(3);
    }
  });

  it('finds an entry changed in its file since the start as it reads it: does not serve it, and takes nothing more', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.jsonl');
    const log = new FileAuditLogRepository(path);
    await log.appendBatch([auditEntry('e1', 'a1', { data: { amount: 100 } }), auditEntry('e2', 'a1')]);
    // The same length, so every other line stays where it was: only the entry's content differs.
    writeFileSync(path, readFileSync(path, 'utf8').replace('"amount":100', '"amount":900'));
    expect(log.writeFailure()).toBeUndefined();
    await expect(log.query({ actionId: 'a1' })).rejects.toThrow(/entry 0 is no longer the entry read at the start or appended: the file was changed since/);
    // From then on it takes nothing more (the embedded host holds execution on `writeFailure`), and signs no head.
    expect(log.writeFailure()).toBeInstanceOf(AuditLogTamperedError);
    await expect(log.appendBatch([auditEntry('e3', 'a2')])).rejects.toThrow(/the audit log cannot be written: .*entry 0 is no longer the entry/);
    await expect(log.saveHead({ treeSize: 2, rootHash: (await log.tip()).root, timestamp: 't', signature: 's', keyId: 'k' } as never)).rejects.toThrow(
      /the audit log cannot be written/,
    );
    // An entry not changed is still read.
    await expect(log.range(1, 2)).resolves.toHaveLength(1);
  });

  it("keeps the log's write failure until a write to the log itself succeeds: a head written to its own file does not clear it (red team, 2026-12-08)", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.jsonl');
    const log = new FileAuditLogRepository(path);
    await log.appendBatch([auditEntry('e1', 'a1'), auditEntry('e2', 'a1')]);
    const head = { treeSize: 2, rootHash: (await log.tip()).root, timestamp: new Date().toISOString(), signature: 's', keyId: 'k' } as never;
    await log.saveHead(head);
    // The log's file made immutable (as root: what a full disk does to its writes), the heads' file not.
    execFileSync('chattr', ['+i', path]);
    try {
      await expect(log.appendBatch([auditEntry('e3', 'a2')])).rejects.toThrow();
      expect(log.writeFailure()?.message).toMatch(/EPERM/);
      await log.saveHead(head);
      // Before: the head's write cleared it, and the embedded host let an action execute with no entry of it written.
      expect(log.writeFailure()?.message).toMatch(/EPERM/);
    } finally {
      execFileSync('chattr', ['-i', path]);
    }
    await log.appendBatch([auditEntry('e3', 'a2')]);
    expect(log.writeFailure()).toBeUndefined();
  });

  it('keeps the failure while an entry that could not be written waits, though smaller ones fit after it (red team of the fix, 2026-12-08)', async () => {
    // A file system of its own, nearly full: a large entry does not fit, a small one does.
    const dir = mkdtempSync(join(tmpdir(), 'audit-small-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir]);
    try {
      const path = join(dir, 'audit.jsonl');
      const log = new FileAuditLogRepository(path);
      await log.appendBatch([auditEntry('e1', 'a1')]);
      writeFileSync(join(dir, 'fill'), Buffer.alloc(256 * 1024 - 24 * 1024));
      const big = auditEntry('big', 'a2', { data: { context: 'x'.repeat(60_000) } });
      await expect(log.appendBatch([big])).rejects.toThrow(/ENOSPC/);
      expect(log.writeFailure()?.message).toMatch(/ENOSPC/);
      // A small entry of another event fits: the large one still waits, and so does the failure.
      await log.appendBatch([auditEntry('small', 'a3')]);
      expect(log.writeFailure()?.message).toMatch(/ENOSPC/);
      // Room again: the large one is delivered again and written, and the failure is gone.
      rmSync(join(dir, 'fill'));
      await log.appendBatch([big]);
      expect(log.writeFailure()).toBeUndefined();
      expect((await log.range(0, 3)).map((e) => (e.entry as AuditEntry).eventId)).toEqual(['e1', 'small', 'big']);
    } finally {
      execFileSync('umount', [dir]);
    }
  });

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
      const placed: Record<string, unknown> & { _index: number } = { ...entry, _index: index };
      // Its time as hashed with the entry, as the writer shows it: the line itself is as the writer would write it.
      const recordedAt = typeof placed._recordedAt === 'string' ? placed._recordedAt : '2026-12-01T10:00:00.000Z';
      return { index, entry: placed, leafHash: leafHashOfText(entryJson(placed as never)).toString('hex'), recordedAt };
    };
    const reopen = () => new FileAuditLogRepository(path);
    return { path, ring, lines, write, forged, reopen };
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

  /** `written()`, then the writer's clean stop as it records it: its entry (6) under a head of 7 entries. */
  async function stopped() {
    const f = await written();
    const log = f.reopen();
    const tip = await log.appendBatch([own(TOPICS.logStopped, { logSize: 6 })]);
    await log.saveHead(f.ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-12-04T10:00:00Z')));
    return f;
  }
  const placed = (entry: AuditEntry) => entry as unknown as Record<string, unknown>;

  it('after a clean stop recorded in the log, an entry appended by someone else is refused, even with stopped-cleanly.json deleted (red team, 2026-12-04)', async () => {
    const f = await stopped();
    expect(existsSync(join(f.path, '..', 'stopped-cleanly.json'))).toBe(false);
    const untouched = f.lines();
    expect((await f.reopen().tip()).size).toBe(7);
    // Appended with the leaf hash made the writer's way (anyone can compute it): never adopted as a crash's tail.
    f.write([...untouched, f.forged(7, { ...placed(auditEntry('e7', 'a-e7')), eventType: 'policy.change.decided.v1' })]);
    refused(
      f,
      /entries 7\.\.7 are past the signed head of 7 entries, which ends in the writer's clean stop \(entry 6\): the writer appends after a clean stop only once a head covers its resumption, so they were added by someone else/,
    );
    // Behind a resumption of its own making too.
    f.write([...untouched, f.forged(7, placed(own(TOPICS.logResumed, { stoppedAt: 6 }))), f.forged(8, placed(auditEntry('e8', 'a-e8')))]);
    refused(f, /entries 7\.\.8 are past the signed head of 7 entries, which ends in the writer's clean stop/);
  });

  it('after a clean stop, forged entries behind a head line nobody with the key signed are refused, with the record of the stop deleted (red team, 2026-12-07)', async () => {
    const f = await stopped();
    const headKeys = { home: f.ring.verifierKeys()[0] };
    const withKeys = () => new FileAuditLogRepository(f.path, { headKeys });
    expect((await withKeys().tip()).size).toBe(7);
    const untouched = f.lines();
    const headsFile = join(f.path, '..', 'tree-heads.jsonl');
    const heads = readFileSync(headsFile, 'utf8');
    // A forged approval after the stop, and a head over it with the right size and root but a signature nobody made: the
    // newest head then no longer ends in the stop, and the start took the forgery as history the writer signed over.
    f.write([...untouched, f.forged(7, { ...placed(auditEntry('e7', 'a-e7')), actor: { id: 'mallory' }, eventType: 'review.decision.made.v1' })]);
    const range = CompactRange.empty();
    for (const l of f.lines()) range.append(Buffer.from(l.leafHash, 'hex'));
    const signature = randomBytes(64).toString('base64');
    const fake = { treeSize: 8, rootHash: range.root().toString('hex'), timestamp: '2026-12-04T10:05:00.000Z', keyId: headKeys.home.keyId, signature };
    writeFileSync(headsFile, `${heads}${JSON.stringify(fake)}\n`);
    expect(() => withKeys()).toThrow(/tree head of size 8 has an invalid signature: the home's heads are signed by its own key alone/);
    // A key of the attacker's own, put beside the log as an older version's per-start key, signs it: still refused, since
    // the home's key signed heads before it.
    const mallory = new KeyRing([generateTreeHeadKey('mallory', new Date('2026-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z')).entry]);
    const signedByMallory = mallory.sign(8, range.root(), new Date('2026-12-04T10:05:00Z'));
    writeFileSync(headsFile, `${heads}${JSON.stringify(signedByMallory)}\n`);
    expect(() => new FileAuditLogRepository(f.path, { headKeys: { ...headKeys, older: mallory.verifierKeys() } })).toThrow(
      /signed by "mallory", an older per-start key, after the home's own key signed the head of 4/,
    );
  });

  it("verify --file fails an entry after a signed clean stop that is not the writer's resumption, under heads signed since too (red team, 2026-12-07)", async () => {
    // As a start that checked no head signature left it: a forgery after the stop, taken, and real heads signed over it.
    const f = await stopped();
    const log = f.reopen();
    const tip = await log.appendBatch([{ ...auditEntry('e7', 'a-e7'), actor: { id: 'mallory' }, eventType: 'review.decision.made.v1' } as AuditEntry]);
    await log.saveHead(f.ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-12-04T10:06:00Z')));
    expect(await verifyAuditFile(f.path, f.ring.verifierKeys(), [])).toMatchObject({
      ok: false,
      firstBadIndex: 7,
      problem: expect.stringMatching(/^entry 7 follows the writer's clean stop \(entry 6, the last of a signed head\) but is not its resumption/),
    });
    // The writer's own resumption there, and anything after it, verify.
    const g = await stopped();
    const resumed = g.reopen();
    const next = await resumed.appendBatch([own(TOPICS.logResumed, { stoppedAt: 6 }), auditEntry('e8', 'a-e8')]);
    await resumed.saveHead(g.ring.sign(next.size, Buffer.from(next.root, 'hex'), new Date('2026-12-04T10:06:00Z')));
    expect(await verifyAuditFile(g.path, g.ring.verifierKeys(), [])).toMatchObject({ ok: true });
  });

  it('a line whose content is the writer’s but not its bytes, or whose time is not the one hashed, is refused (red team, 2026-12-07)', async () => {
    const f = await written();
    const untouched = readFileSync(f.path, 'utf8');
    const lines = untouched.trimEnd().split('\n');
    const withLine = (n: number, line: string) => writeFileSync(f.path, `${lines.map((l, i) => (i === n ? line : l)).join('\n')}\n`);
    const third = JSON.parse(lines[2]) as Line;
    withLine(2, JSON.stringify({ ...third, recordedAt: '2020-01-01T00:00:00.000Z' }));
    refused(f, /line 3 \(entry 2\) shows recordedAt "2020-01-01T00:00:00.000Z", but was hashed as recorded at .*: its time was changed/);
    withLine(2, JSON.stringify({ ...third, note: 'x' }));
    refused(f, /line 3 \(entry 2\) has a field "note" that the audit file does not write/);
    for (const other of [lines[2].replace('{"index":2,', '{"index":2, '), lines[2].replace('{"index":2,', '{"index":2,"index":2,'), `${lines[2]}\r`]) {
      withLine(2, other);
      refused(f, /line 3 \(entry 2\) is not written as the audit file writes it \(the same content in other bytes\)/);
    }
    writeFileSync(f.path, untouched);
    expect((await f.reopen().tip()).size).toBe(6);
  });

  it('a log or heads file that is a named pipe or a device is refused at once, not waited on or read without end (red team, 2026-12-07)', async () => {
    const f = await written();
    const headsFile = join(f.path, '..', 'tree-heads.jsonl');
    rmSync(headsFile);
    symlinkSync('/dev/zero', headsFile);
    refused(f, /tree-heads\.jsonl is not a regular file \(a named pipe, a device or a socket\), not the file the writer writes/);
    rmSync(headsFile);
    rmSync(f.path);
    execFileSync('mkfifo', [f.path]);
    refused(f, /audit\.jsonl is not a regular file \(a named pipe, a device or a socket\), not the file the writer writes/);
  });

  it("past a head that ends in a clean stop, only the writer's own resumption, alone, is taken: it was cut off before it signed it", async () => {
    const f = await stopped();
    const untouched = f.lines();
    const resumed = own(TOPICS.logResumed, { stoppedAt: 6 }, new Date('2026-12-04T11:00:00Z'));
    f.write([...untouched, f.forged(7, placed(resumed))]);
    expect((await f.reopen().tip()).size).toBe(8);
    // Not with a field the writer does not write, nor as the resumption of another stop, nor with a time in another form.
    f.write([...untouched, f.forged(7, { ...placed(resumed), decision: 'approved' })]);
    refused(f, /entries 7\.\.7 are past the signed head of 7 entries, which ends in the writer's clean stop/);
    f.write([...untouched, f.forged(7, placed(own(TOPICS.logResumed, { stoppedAt: 5 })))]);
    refused(f, /entries 7\.\.7 are past the signed head of 7 entries/);
    f.write([...untouched, f.forged(7, { ...placed(resumed), time: '2026-12-04T11:00:00Z' })]);
    refused(f, /entries 7\.\.7 are past the signed head of 7 entries/);
    // A stop entry that no head ends in (killed before its final head) says nothing: the tail is a crash's, read as it
    // is (the chain service records it).
    const headsFile = join(f.path, '..', 'tree-heads.jsonl');
    writeFileSync(headsFile, readFileSync(headsFile, 'utf8').split('\n').slice(0, 2).join('\n') + '\n');
    f.write([...untouched, f.forged(7, placed(auditEntry('e7', 'a-e7')))]);
    expect((await f.reopen().tip()).size).toBe(8);
  });

  it("a torn line right past a head that ends in a clean stop, with no record of the stop, is the writer's resumption cut short: set aside", async () => {
    const f = await stopped();
    const resumed = JSON.stringify(f.forged(7, placed(own(TOPICS.logResumed, { stoppedAt: 6 }))));
    appendFileSync(f.path, resumed.slice(0, 60));
    const log = f.reopen();
    expect((await log.tip()).size).toBe(7);
    expect(await log.tornWrites()).toMatchObject([{ file: f.path, line: 8, bytes: 60, digest: sha256(resumed.slice(0, 60)) }]);
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

describe('FileAuditLogRepository, a power loss mid-write: a torn last line is set aside, not taken for tampering', () => {
  /** Four entries under a signed head, and two more past it (the writer's, appended before the power went). */
  async function written() {
    const dir = mkdtempSync(join(tmpdir(), 'audit-'));
    const path = join(dir, 'audit.jsonl');
    const headsFile = join(dir, 'tree-heads.jsonl');
    const log = new FileAuditLogRepository(path);
    const ring = testKeys();
    const tip = await log.appendBatch(['e0', 'e1', 'e2', 'e3'].map((id) => auditEntry(id, `a-${id}`)));
    const head = ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-12-01T10:00:00Z'));
    await log.saveHead(head);
    new FileHeadStore(join(dir, 'heads')).write(head);
    await log.appendBatch(['e4', 'e5'].map((id) => auditEntry(id, `a-${id}`)));
    /** The file with its last line cut after `keep` of its bytes, and no newline: what a torn append leaves. */
    const tear = (file: string, keep: number) => {
      const text = readFileSync(file, 'utf8');
      const start = text.lastIndexOf('\n', text.length - 2) + 1;
      writeFileSync(file, text.slice(0, start + keep));
      return { whole: text.slice(0, start), torn: text.slice(start, start + keep) };
    };
    const aside = (file: string) => readdirSync(dir).filter((f) => f.startsWith(`${file}.torn-`));
    const keysDir = join(dir, 'keys');
    mkdirSync(keysDir);
    /** `countersign audit verify --file` on the log, as an operator runs it (with the head store beside it). */
    const verify = () => verifyAuditFile(path, ring.verifierKeys(), FileHeadStore.read(join(dir, 'heads')));
    return { dir, path, headsFile, ring, tear, aside, verify, reopen: () => new FileAuditLogRepository(path) };
  }
  const refused = (f: { reopen: () => unknown }, problem: RegExp) => {
    expect(f.reopen).toThrow(AuditLogTamperedError);
    expect(f.reopen).toThrow(problem);
  };

  it('a last line cut short past every signed head: its bytes are moved aside, the log is cut back to the line before, and the chain continues', async () => {
    const f = await written();
    const { whole, torn } = f.tear(f.path, 90);
    const log = f.reopen();
    expect((await log.tip()).size).toBe(5);
    expect(readFileSync(f.path, 'utf8')).toBe(whole);
    // Never deleted: kept beside the log, byte for byte, and said (the chain service logs it as `audit-torn-write`).
    expect(f.aside('audit.jsonl')).toHaveLength(1);
    const keptAt = join(f.dir, f.aside('audit.jsonl')[0]);
    expect(readFileSync(keptAt, 'utf8')).toBe(torn);
    expect(await log.tornWrites()).toEqual([{ file: f.path, line: 6, bytes: 90, digest: sha256(torn), keptAt }]);
    // The torn event is delivered again (it was never under a head): it takes the place it had, and a head covers it.
    const tip = await log.appendBatch([auditEntry('e5', 'a-e5'), auditEntry('e6', 'a-e6')]);
    expect(tip).toMatchObject({ size: 7, appended: 2 });
    await log.saveHead(f.ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-12-01T10:05:00Z')));
    expect(await f.verify()).toMatchObject({ ok: true, treeSize: 7, root: tip.root });
    // Read back again, nothing is torn any more.
    expect(await f.reopen().tornWrites()).toEqual([]);
  });

  it('a last line that lost only its newline is whole: it is read, and the next append starts on a line of its own', async () => {
    const f = await written();
    const { torn } = f.tear(f.path, readFileSync(f.path, 'utf8').trimEnd().split('\n').at(-1)!.length);
    expect(JSON.parse(torn).index).toBe(5);
    const log = f.reopen();
    expect((await log.tip()).size).toBe(6);
    expect(f.aside('audit.jsonl')).toEqual([]);
    const tip = await log.appendBatch([auditEntry('e6', 'a-e6')]);
    await log.saveHead(f.ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-12-01T10:05:00Z')));
    expect(await f.verify()).toMatchObject({ ok: true, treeSize: 7 });
  });

  it('a head is never written over entries that are not on disk: the log is synced once, before the head line', async () => {
    const f = await written();
    const log = f.reopen();
    // Which file each write and sync goes to, in order (the real calls are made). The module itself, not an import's
    // copy of it: the store calls through it.
    const fs = jest.requireActual<typeof import('node:fs')>('node:fs');
    const real = { open: fs.openSync, write: fs.writeSync, sync: fs.fdatasyncSync };
    const files = new Map<number, string>();
    const order: string[] = [];
    jest.spyOn(fs, 'openSync').mockImplementation(((file: string, ...rest: never[]) => {
      const fd = (real.open as (...a: unknown[]) => number)(file, ...rest);
      files.set(fd, String(file).replace(`${f.dir}/`, ''));
      return fd;
    }) as typeof fs.openSync);
    jest.spyOn(fs, 'writeSync').mockImplementation(((fd: number, ...rest: never[]) => {
      order.push(`write ${files.get(fd)}`);
      return (real.write as (...a: unknown[]) => number)(fd, ...rest);
    }) as typeof fs.writeSync);
    jest.spyOn(fs, 'fdatasyncSync').mockImplementation((fd: number) => {
      order.push(`sync ${files.get(fd)}`);
      real.sync(fd);
    });
    try {
      await log.appendBatch([auditEntry('e6', 'a-e6')]);
      const tip = await log.appendBatch([auditEntry('e7', 'a-e7')]);
      await log.saveHead(f.ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-12-01T10:05:00Z')));
    } finally {
      jest.restoreAllMocks();
    }
    // One sync of the log per head, not per append; the head line only once the entries it covers are on disk.
    expect(order).toEqual(['write audit.jsonl', 'write audit.jsonl', 'sync audit.jsonl', 'write tree-heads.jsonl', 'sync tree-heads.jsonl']);
    // A head past the entries the log holds is not written at all.
    await expect(log.saveHead(f.ring.sign(99, Buffer.alloc(32), new Date()))).rejects.toThrow(/past the end of the log/);
  });

  it('a last line of tree-heads.jsonl cut short is set aside the same way; the head store still has the heads written before it', async () => {
    const f = await written();
    const log = f.reopen();
    const tip = await log.tip();
    await log.saveHead(f.ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-12-01T10:05:00Z')));
    const { whole, torn } = f.tear(f.headsFile, 40);
    const again = f.reopen();
    expect((await again.heads()).map((h) => h.treeSize)).toEqual([4]);
    expect(readFileSync(f.headsFile, 'utf8')).toBe(whole);
    const keptAt = join(f.dir, f.aside('tree-heads.jsonl')[0]);
    expect(readFileSync(keptAt, 'utf8')).toBe(torn);
    expect(await again.tornWrites()).toEqual([{ file: f.headsFile, line: 2, bytes: 40, digest: sha256(torn), keptAt }]);
    // The next head covers the entries the torn one did.
    await again.saveHead(f.ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-12-01T10:06:00Z')));
    expect(await f.verify()).toMatchObject({ ok: true, treeSize: 6 });
  });

  it('a kept head cut short (heads/) whose head tree-heads.jsonl holds whole is moved aside and kept again; any other is tampering', async () => {
    const f = await written();
    const heads = join(f.dir, 'heads');
    const [name] = readdirSync(heads);
    const kept = readFileSync(join(heads, name), 'utf8');
    rmSync(join(heads, name));
    writeFileSync(join(heads, name), kept.slice(0, 30));
    expect((await f.reopen().tornWrites()).map((t) => [t.file, t.bytes])).toEqual([[join(heads, name), 30]]);
    expect(readFileSync(join(heads, name), 'utf8')).toBe(kept);
    expect(readdirSync(heads).filter((n) => n.startsWith(`${name}.torn-`))).toHaveLength(1);
    // A torn file in the head store naming a head that tree-heads.jsonl does not hold: refused as before.
    writeFileSync(join(heads, `${'9'.repeat(14)}-x-y.json`), '{"treeSize":');
    refused(f, /the kept head 9{14}-x-y\.json does not parse/);
  });

  it('still tampering: a torn line that a signed head covers, one in the middle, a whole line that does not hash, a bad line with its newline, a torn line after a clean stop', async () => {
    const f = await written();
    const log = f.reopen();
    const tip = await log.tip();
    await log.saveHead(f.ring.sign(tip.size, Buffer.from(tip.root, 'hex'), new Date('2026-12-01T10:05:00Z')));
    const untouched = readFileSync(f.path, 'utf8');
    const lines = untouched.trimEnd().split('\n');
    // Under the head of 6 entries: a head is written only once its entries are on disk.
    f.tear(f.path, 90);
    refused(f, /line 6, the last, is cut short, but the signed head of 6 entries covers it: .*no torn write/);
    // Torn, then more lines after it.
    writeFileSync(f.path, `${lines.slice(0, 4).join('\n')}\n${lines[4].slice(0, 50)}\n${lines[5]}\n`);
    refused(f, /line 5 does not parse/);
    // Whole JSON at the end without a newline, but its entry changed: its hash says so.
    writeFileSync(
      f.path,
      `${untouched}${lines[5].replace('"index":5', '"index":6').replace('"_index":5', '"_index":6').replace('"eventId":"e5"', '"eventId":"e9"')}`,
    );
    refused(f, /entry 6 does not match its recorded leaf hash: it was modified/);
    // A line that does not parse, with its newline: not a write cut short.
    writeFileSync(f.path, `${untouched}${lines[5].slice(0, 90)}\n`);
    refused(f, /line 7 does not parse/);
    // A torn line in the middle of tree-heads.jsonl.
    writeFileSync(f.path, untouched);
    const headLines = readFileSync(f.headsFile, 'utf8').trimEnd().split('\n');
    writeFileSync(f.headsFile, `${headLines[0].slice(0, 40)}\n${headLines[1]}\n`);
    refused(f, /line 1 of .*tree-heads\.jsonl does not parse/);
    writeFileSync(f.headsFile, `${headLines.join('\n')}\n`);
    // After a clean stop the writer writes nothing before it removes that record: a torn line then is someone else's.
    await f.reopen().stoppedCleanly((await log.heads()).at(-1)!);
    appendFileSync(f.path, lines[5].slice(0, 90).replace('"index":5', '"index":6'));
    refused(f, /ends in a line cut short \(line 7\), but the writer stopped cleanly and wrote nothing since/);
    // Nothing was moved or cut while refusing.
    expect(f.aside('audit.jsonl')).toEqual([]);
  });

  it('a last line that no write cut short leaves, such as a whole entry with its newline cut and one byte changed, is tampering, not set aside (red team, 2026-12-04)', async () => {
    const f = await written();
    const text = readFileSync(f.path, 'utf8');
    const lines = text.trimEnd().split('\n');
    // e5, whole but under no head: its newline cut and one byte changed, it would have been set aside and cut off.
    writeFileSync(f.path, `${lines.slice(0, 5).join('\n')}\n${lines[5].replace('"index":5', '"index";5')}`);
    refused(
      f,
      /line 6 has no newline and is not the start of a JSON line: a write cut short leaves the start of a line, so it was changed outside Countersign/,
    );
    writeFileSync(f.path, text);
    // The last line of tree-heads.jsonl, and a kept head's file, likewise.
    const heads = readFileSync(f.headsFile, 'utf8');
    writeFileSync(f.headsFile, heads.trimEnd().replace('"treeSize":4', '"treeSize"=4'));
    refused(f, /line 1 of .*tree-heads\.jsonl has no newline and is not the start of a JSON line/);
    writeFileSync(f.headsFile, heads);
    const [kept] = readdirSync(join(f.dir, 'heads'));
    const keptText = readFileSync(join(f.dir, 'heads', kept), 'utf8');
    rmSync(join(f.dir, 'heads', kept));
    writeFileSync(join(f.dir, 'heads', kept), keptText.slice(0, 30).replace('{', '['));
    refused(f, /the kept head .* does not parse/);
    rmSync(join(f.dir, 'heads', kept));
    writeFileSync(join(f.dir, 'heads', kept), keptText);
    // Nothing was moved or cut while refusing.
    expect([...f.aside('audit.jsonl'), ...f.aside('tree-heads.jsonl')]).toEqual([]);
    // A cut followed by zero bytes only (a file system may show the unwritten end of an extended file so) is a cut.
    const { torn } = f.tear(f.path, 90);
    appendFileSync(f.path, Buffer.alloc(7));
    expect(await f.reopen().tornWrites()).toMatchObject([
      { line: 6, bytes: 97, digest: createHash('sha256').update(torn).update(Buffer.alloc(7)).digest('hex') },
    ]);
  });

  it('a failed append leaves neither the file nor the chain ahead: the event delivered again is appended, not dropped as a duplicate', async () => {
    const f = await written();
    const log = f.reopen();
    const saved = readFileSync(f.path);
    // The file cannot be written (here: a directory in its place; in life: a full disk, an I/O error).
    rmSync(f.path);
    mkdirSync(f.path);
    await expect(log.appendBatch([auditEntry('e6', 'a-e6')])).rejects.toThrow();
    expect((await log.tip()).size).toBe(6);
    rmSync(f.path, { recursive: true });
    writeFileSync(f.path, saved);
    expect(await log.appendBatch([auditEntry('e6', 'a-e6')])).toMatchObject({ size: 7, appended: 1 });
    expect((await f.reopen().tip()).size).toBe(7);
  });
});

describe('reading a JSON Lines file a piece at a time (scale probe, 2026-12-06: a whole read held every entry at once, and none past 2 GiB)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'json-lines-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const bad = (line: number, last?: boolean): never => {
    throw new Error(`bad line ${line}${last ? ' (last)' : ''}`);
  };
  const lines = ['{"n":0}', '', '{"n":1,"pad":"' + 'x'.repeat(40) + '"}', '{"n":"ünïcödé"}', '{"n":3}'];

  it.each([1, 3, 7, 64, 8 * 1024 * 1024])('gives every value with its place in the file, whatever the piece size (%i bytes)', (chunk) => {
    const file = join(dir, `whole-${chunk}.jsonl`);
    writeFileSync(file, `${lines.join('\n')}\n`);
    const seen: Array<[unknown, number, number, number]> = [];
    const read = readJsonLines<{ n: unknown }>(file, bad, (v, i, offset, length) => void seen.push([v.n, i, offset, length]), chunk);
    const bytes = readFileSync(file);
    expect(seen.map(([n]) => n)).toEqual([0, 1, 'ünïcödé', 3]);
    expect(seen.map(([, i]) => i)).toEqual([0, 1, 2, 3]);
    // Each place and length is the line's, in bytes.
    for (const [n, , offset, length] of seen) expect(JSON.parse(bytes.toString('utf8', offset, offset + length)).n).toEqual(n);
    expect(read).toEqual({ values: [], offsets: [], lengths: [] });
    // Without `each`, the values are kept, as before.
    expect(readJsonLines<{ n: unknown }>(file, bad, undefined, chunk).values.map((v) => v.n)).toEqual([0, 1, 'ünïcödé', 3]);
  });

  it.each([1, 5, 1024])('tells a last line cut short, one whole without its newline, and one changed, apart (%i-byte pieces)', (chunk) => {
    const torn = join(dir, `torn-${chunk}.jsonl`);
    writeFileSync(torn, `${lines[0]}\n{"n":4,"pa`);
    expect(readJsonLines(torn, bad, () => undefined, chunk).torn).toEqual({ line: 2, at: lines[0].length + 1, bytes: Buffer.from('{"n":4,"pa') });
    const unterminated = join(dir, `unterminated-${chunk}.jsonl`);
    writeFileSync(unterminated, `${lines[0]}\n{"n":4}`);
    const seen: number[] = [];
    expect(readJsonLines<{ n: number }>(unterminated, bad, (v) => void seen.push(v.n), chunk).unterminated).toBe(true);
    expect(seen).toEqual([0, 4]);
    const changed = join(dir, `changed-${chunk}.jsonl`);
    writeFileSync(changed, `${lines[0]}\nnot json\n`);
    expect(() => readJsonLines(changed, bad, () => undefined, chunk)).toThrow('bad line 2');
    writeFileSync(changed, `${lines[0]}\n{"n":4}}`);
    expect(() => readJsonLines(changed, bad, () => undefined, chunk)).toThrow('bad line 2 (last)');
  });
});
