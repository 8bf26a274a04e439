import { trustGauges } from './trust-metrics';
import type { TrustFinding } from './trust-source';

// real: the mapping from findings to gauges; fake: nothing (findings as the control topic carries them).
const finding = (over: Partial<TrustFinding>): TrustFinding => ({
  kind: 'signing-key',
  owner: 'review-queue',
  purpose: 'approval-signing',
  source: '/keys/approvals.json',
  status: 'ok',
  reason: 'r',
  ...over,
});

describe('trustGauges', () => {
  it('takes the earliest end per key use, overdue when any of its files needs a rotation, certificates apart', () => {
    const g = trustGauges([
      finding({ notAfter: '2027-01-01T00:00:00.000Z' }),
      finding({ kind: 'verify-key', owner: 'executor', notAfter: '2026-12-01T00:00:00.000Z', status: 'rotation-due' }),
      finding({ purpose: 'audit-tree-head', notAfter: '2026-10-01T00:00:00.000Z', status: 'expired' }),
      finding({ purpose: 'audit-verify', status: 'missing' }),
      finding({ kind: 'certificate', purpose: 'orchestrator-tls', notAfter: '2027-03-01T00:00:00.000Z' }),
    ]);
    expect(Object.fromEntries(g.keyExpiry)).toEqual({
      'approval-signing': Date.parse('2026-12-01T00:00:00.000Z') / 1000,
      'audit-tree-head': Date.parse('2026-10-01T00:00:00.000Z') / 1000,
    });
    expect(Object.fromEntries(g.rotationOverdue)).toEqual({ 'approval-signing': 1, 'audit-tree-head': 1, 'audit-verify': 0 });
    expect(Object.fromEntries(g.certificateExpiry)).toEqual({ 'orchestrator-tls': Date.parse('2027-03-01T00:00:00.000Z') / 1000 });
  });
});
