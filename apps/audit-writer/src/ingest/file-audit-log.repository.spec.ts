import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS } from '@countersign/contracts';
import { auditEvent, auditLogContract } from './audit-log.contract';
import { FileAuditLogRepository } from './file-audit-log.repository';

// real: the file store on a temporary directory; fake: nothing.
auditLogContract('file', async () => new FileAuditLogRepository(join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.jsonl')));

describe('FileAuditLogRepository', () => {
  it('only appends to its file, and after a restart still drops redelivered events', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'audit-')), 'audit.jsonl');
    await new FileAuditLogRepository(path).append(TOPICS.policyDecided, auditEvent('e1', 'a1'));
    const before = readFileSync(path, 'utf8');
    const restarted = new FileAuditLogRepository(path);
    await restarted.append(TOPICS.policyDecided, auditEvent('e1', 'a1'));
    await restarted.append(TOPICS.policyDecided, auditEvent('e2', 'a1'));
    const after = readFileSync(path, 'utf8');
    expect(after.startsWith(before)).toBe(true);
    expect(after.trim().split('\n')).toHaveLength(2);
  });
});
