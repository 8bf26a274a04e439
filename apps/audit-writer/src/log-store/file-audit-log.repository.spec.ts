import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactRange, entryBytes, leafHash, verifyEntries } from '@countersign/audit-chain';
import { auditEntry, auditLogSuite, testKeys } from './audit-log.suite';
import { FileAuditLogRepository } from './file-audit-log.repository';

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
