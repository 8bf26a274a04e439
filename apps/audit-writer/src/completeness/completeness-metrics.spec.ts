import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { TOPICS } from '@countersign/contracts';
import { METRIC_DEFINITIONS, Metrics, parsePrometheusText } from '@countersign/metrics';
import { auditEntry } from '../log-store/audit-log.suite';
import { FileAuditLogRepository } from '../log-store/file-audit-log.repository';
import { CompletenessMetrics } from './completeness-metrics';

// real: the completeness check, the file audit store (the PostgreSQL one's twin, same shared suite), a prom-client
// registry; fake: the clock (a fixed `now`).
const NOW = Date.parse('2026-11-24T12:00:00.000Z');
const ago = (minutes: number) => new Date(NOW - minutes * 60_000).toISOString();
const proposed = (actionId: string, minutes: number) =>
  auditEntry(`p-${actionId}`, actionId, { eventType: TOPICS.actionProposed, topic: TOPICS.actionProposed, time: ago(minutes), data: {} });
const decided = (actionId: string, lane: string) => auditEntry(`d-${actionId}`, actionId, { data: { lane } });
const executed = (actionId: string) => auditEntry(`x-${actionId}`, actionId, { eventType: TOPICS.actionExecuted, topic: TOPICS.actionExecuted, data: {} });
const unknownOutcome = (actionId: string) =>
  auditEntry(`u-${actionId}`, actionId, { eventType: TOPICS.actionFailed, topic: TOPICS.actionFailed, data: { outcome: 'outcome_unknown' } });

describe('CompletenessMetrics', () => {
  it('sets the share of settled actions in the window with a complete trail, leaving out the too recent and those awaiting review', async () => {
    const log = new FileAuditLogRepository(join(mkdtempSync(join(tmpdir(), 'completeness-')), 'audit.jsonl'));
    const metrics = new Metrics('audit-writer', METRIC_DEFINITIONS, { defaultMetrics: false });
    const ratio = async () => parsePrometheusText(await metrics.render()).find((s) => s.name === 'countersign_audit_completeness_ratio')?.value;
    const check = new CompletenessMetrics(log, metrics, pino({ level: 'silent' }), { now: () => NOW, windowMs: 3_600_000, graceMs: 300_000 });
    // Nothing checked yet: no claim.
    expect(await ratio()).toBeUndefined();
    await check.check();
    expect(await ratio()).toBe(1);
    await log.appendBatch([
      ...[proposed('complete', 30), decided('complete', 'autonomous'), executed('complete')],
      // Decided autonomous 20 minutes ago and never executed, failed or refused: a gap.
      ...[proposed('lost', 20), decided('lost', 'autonomous')],
      ...[proposed('blocked', 40), decided('blocked', 'prohibited')],
      // Waiting for its reviewers: pending, not a gap.
      ...[proposed('waiting', 10), decided('waiting', 'review')],
      // Too recent to judge, and too old to be in the window.
      ...[proposed('fresh', 1), proposed('ancient', 120)],
    ]);
    await check.check();
    expect(await ratio()).toBeCloseTo(2 / 3);
    await log.appendBatch([executed('lost')]);
    await check.check();
    expect(await ratio()).toBe(1);
  });

  it('leaves out an action whose outcome is unknown until the reconciler settles it, then counts it complete', async () => {
    const log = new FileAuditLogRepository(join(mkdtempSync(join(tmpdir(), 'completeness-')), 'audit.jsonl'));
    const metrics = new Metrics('audit-writer', METRIC_DEFINITIONS, { defaultMetrics: false });
    const ratio = async () => parsePrometheusText(await metrics.render()).find((s) => s.name === 'countersign_audit_completeness_ratio')?.value;
    const check = new CompletenessMetrics(log, metrics, pino({ level: 'silent' }), { now: () => NOW, windowMs: 3_600_000, graceMs: 300_000 });
    await log.appendBatch([
      ...[proposed('complete', 30), decided('complete', 'autonomous'), executed('complete')],
      ...[proposed('lost', 20), decided('lost', 'autonomous')],
      // Not ended (an unknown outcome is no end) and nothing missing: pending, neither complete nor a gap.
      ...[proposed('unsettled', 40), decided('unsettled', 'autonomous'), unknownOutcome('unsettled')],
    ]);
    await check.check();
    expect(await ratio()).toBeCloseTo(1 / 2);
    // The reconciler settles it: now judged, and complete.
    await log.appendBatch([executed('unsettled')]);
    await check.check();
    expect(await ratio()).toBeCloseTo(2 / 3);
  });
});
