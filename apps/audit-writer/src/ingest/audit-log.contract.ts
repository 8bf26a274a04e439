import { Envelope, TOPICS } from '@countersign/contracts';
import { AuditLogRepository } from './audit-log.repository';

export const auditEvent = (id: string, subject: string, over: Partial<Envelope> = {}): Envelope => ({
  id,
  type: TOPICS.policyDecided,
  version: 1,
  source: 'policy-engine',
  time: '2026-11-24T10:00:00.000Z',
  subject,
  correlationId: `corr-${subject}`,
  causationId: null,
  actor: { id: 'policy-engine', kind: 'service' },
  data: { lane: 'review' },
  ...over,
});

/** The audit-store contract: the PostgreSQL store and the embedded file store both pass it. */
export function auditLogContract(name: string, make: () => Promise<AuditLogRepository>) {
  describe(`AuditLogRepository contract: ${name}`, () => {
    it('appends one entry per event id, in order, whatever the redelivery', async () => {
      const log = await make();
      await log.append(TOPICS.policyDecided, auditEvent('e1', 'a1'));
      await log.append(TOPICS.policyDecided, auditEvent('e1', 'a1', { data: { lane: 'autonomous' } }));
      await log.append(TOPICS.actionExecuted, auditEvent('e2', 'a1', { type: TOPICS.actionExecuted }));
      const entries = await log.query({ actionId: 'a1' });
      expect(entries.map((e) => [e.eventId, e.topic])).toEqual([
        ['e1', TOPICS.policyDecided],
        ['e2', TOPICS.actionExecuted],
      ]);
      expect(entries[0].data).toEqual({ lane: 'review' });
      expect(entries[0].seq).toBeLessThan(entries[1].seq);
    });

    it('finds entries by correlation id, actor and type', async () => {
      const log = await make();
      await log.append(TOPICS.policyDecided, auditEvent('e1', 'a1'));
      await log.append(TOPICS.reviewDecided, auditEvent('e2', 'a2', { type: TOPICS.reviewDecided, actor: { id: 'alice', kind: 'human' } }));
      expect((await log.query({ correlationId: 'corr-a2' })).map((e) => e.eventId)).toEqual(['e2']);
      expect((await log.query({ actor: 'alice' })).map((e) => e.eventId)).toEqual(['e2']);
      expect((await log.query({ type: TOPICS.policyDecided })).map((e) => e.eventId)).toEqual(['e1']);
      expect(await log.query({ actionId: 'nothing' })).toEqual([]);
    });
  });
}
