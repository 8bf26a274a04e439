import { TOPICS } from '@countersign/contracts';
import { DecisionRepository, StoredDecision } from './decision.repository';

const decision = (actionId: string, lane: 'autonomous' | 'review'): StoredDecision => ({
  id: `decision-${actionId}`,
  type: TOPICS.policyDecided,
  version: 1,
  source: 'policy-engine',
  time: '2026-11-24T10:00:00.000Z',
  subject: actionId,
  correlationId: `corr-${actionId}`,
  causationId: `proposed-${actionId}`,
  actor: { id: 'policy-engine', kind: 'service', authMethod: 'service' },
  data: { lane, reasons: ['r'], rulesFired: [], contractVersion: '1', contractHash: 'h', score: 0, digest: 'd'.repeat(64), proposerPrincipal: 'agent', sampledForAudit: false },
});

/** The decision-store contract: the Redis store and its in-memory twin both pass it. */
export function decisionContract(name: string, make: () => Promise<DecisionRepository>) {
  describe(`DecisionRepository contract: ${name}`, () => {
    it('keeps the first decision of an action and answers it to every later attempt', async () => {
      const repo = await make();
      expect(await repo.get('a1')).toBeUndefined();
      expect(await repo.keep(decision('a1', 'review'))).toEqual(decision('a1', 'review'));
      expect(await repo.keep(decision('a1', 'autonomous'))).toEqual(decision('a1', 'review'));
      expect(await repo.get('a1')).toEqual(decision('a1', 'review'));
      expect(await repo.keep(decision('a2', 'autonomous'))).toMatchObject({ subject: 'a2', data: { lane: 'autonomous' } });
    });

    it('lets one of many concurrent attempts win, and tells all of them which', async () => {
      const repo = await make();
      const lanes = ['review', 'autonomous', 'review', 'autonomous'] as const;
      const kept = await Promise.all(lanes.map((lane) => repo.keep(decision('a3', lane))));
      expect(new Set(kept.map((d) => d.data.lane)).size).toBe(1);
      expect(await repo.get('a3')).toEqual(kept[0]);
    });
  });
}
