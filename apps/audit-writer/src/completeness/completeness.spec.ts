import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditEntry } from '@countersign/audit-chain';
import { TOPICS } from '@countersign/contracts';
import { auditEntry } from '../log-store/audit-log.suite';
import { FileAuditLogRepository } from '../log-store/file-audit-log.repository';
import { completeness, OUTCOME_BEING_SETTLED } from './completeness';

// real: the completeness check, the file audit store (the PostgreSQL one's twin, same shared suite); fake: nothing.
const SINCE = '2026-11-24T00:00:00.000Z';
const at = '2026-11-24T10:00:00.000Z';
const ev = (id: string, action: string, type: string, data: unknown = {}) => auditEntry(id, action, { eventType: type, topic: type, time: at, data });
const proposed = (a: string) => ev(`p-${a}`, a, TOPICS.actionProposed);
const decided = (a: string, lane = 'autonomous') => ev(`d-${a}`, a, TOPICS.policyDecided, { lane });
const approved = (a: string) => ev(`r-${a}`, a, TOPICS.reviewDecided, { decision: 'approved' });
const executed = (a: string) => ev(`x-${a}`, a, TOPICS.actionExecuted, { reconciliation: { method: 'resend', attempt: 1 } });
const failed = (a: string, outcome: 'failed' | 'outcome_unknown', n = 1) =>
  ev(`f${n}-${a}`, a, TOPICS.actionFailed, { outcome, connector: 'ledger', digest: 'd'.repeat(64), error: 'a timeout' });

async function check(...entries: AuditEntry[]) {
  const log = new FileAuditLogRepository(join(mkdtempSync(join(tmpdir(), 'completeness-')), 'audit.jsonl'));
  await log.appendBatch(entries);
  return completeness(log, SINCE);
}

describe('completeness', () => {
  it('lists an action whose only outcome is unknown as not ended, pending its reconciliation, autonomous or approved', async () => {
    const { actions, gaps } = await check(
      ...[proposed('auto'), decided('auto'), failed('auto', 'outcome_unknown')],
      // Each step of the reconciler that left it unknown is on the record: still not ended.
      ...[
        proposed('reviewed'),
        decided('reviewed', 'review'),
        approved('reviewed'),
        failed('reviewed', 'outcome_unknown'),
        failed('reviewed', 'outcome_unknown', 2),
      ],
    );
    expect(actions).toBe(2);
    expect(gaps).toEqual([
      {
        actionId: 'auto',
        reached: [TOPICS.actionProposed, TOPICS.policyDecided, TOPICS.actionFailed],
        missing: OUTCOME_BEING_SETTLED,
        pending: 'reconciliation',
      },
      expect.objectContaining({ actionId: 'reviewed', missing: OUTCOME_BEING_SETTLED, pending: 'reconciliation' }),
    ]);
  });

  it('counts an unknown outcome the reconciler settled as ended, executed or failed, in whichever order the events were logged', async () => {
    const { actions, gaps } = await check(
      ...[proposed('then-executed'), decided('then-executed'), failed('then-executed', 'outcome_unknown'), executed('then-executed')],
      // An unknown outcome logged after the executed one (another topic, another partition) does not re-open it.
      ...[proposed('executed-first'), decided('executed-first'), executed('executed-first'), failed('executed-first', 'outcome_unknown')],
      ...[proposed('then-failed'), decided('then-failed'), failed('then-failed', 'outcome_unknown'), failed('then-failed', 'failed', 2)],
      ...[proposed('failed-first'), decided('failed-first'), failed('failed-first', 'failed', 2), failed('failed-first', 'outcome_unknown')],
      ...[proposed('failed'), decided('failed'), failed('failed', 'failed')],
    );
    expect(actions).toBe(5);
    expect(gaps).toEqual([]);
  });

  it('still names a missing outcome, review decision or proposal as before', async () => {
    const { gaps } = await check(
      ...[proposed('lost'), decided('lost')],
      ...[proposed('waiting'), decided('waiting', 'review')],
      // Decided and left unknown, never proposed: the missing proposal is what it lacks, and nothing is pending.
      ...[decided('forged'), failed('forged', 'outcome_unknown')],
    );
    expect(gaps.map((g) => [g.actionId, g.missing, g.pending])).toEqual([
      ['lost', 'execution outcome (executed, failed or refused)', undefined],
      ['waiting', 'review decision', 'review'],
      ['forged', 'proposal (a policy decision for an action never proposed)', undefined],
    ]);
  });
});
