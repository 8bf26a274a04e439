import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditEntry, auditLogSuite } from './audit-log.suite';
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
});
