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
  data: {
    lane,
    reasons: ['r'],
    rulesFired: [],
    contractVersion: '1',
    contractHash: 'h',
    score: 0,
    digest: 'd'.repeat(64),
    proposerPrincipal: 'agent',
    sampledForAudit: false,
  },
});

/** The decision-store contract: the PostgreSQL store and its in-memory twin both pass it. */
export function decisionSuite(name: string, make: () => Promise<DecisionRepository>) {
  describe(`DecisionRepository shared suite: ${name}`, () => {
    it('keeps the first decision of an action and answers it to every later attempt', async () => {
      const repo = await make();
      expect(await repo.get('a1')).toBeUndefined();
      expect(await repo.keep(decision('a1', 'review'), 'n1')).toEqual({ decision: decision('a1', 'review'), mine: true });
      expect(await repo.keep(decision('a1', 'autonomous'), 'n2')).toEqual({ decision: decision('a1', 'review'), mine: false });
      expect(await repo.get('a1')).toEqual(decision('a1', 'review'));
      expect(await repo.keep(decision('a2', 'autonomous'), 'n3')).toMatchObject({ mine: true, decision: { subject: 'a2', data: { lane: 'autonomous' } } });
    });

    it('tells two evaluations with identical content apart by their nonce, not their time', async () => {
      const repo = await make();
      const same = decision('a4', 'review');
      expect((await repo.keep(same, 'first')).mine).toBe(true);
      expect((await repo.keep(same, 'second')).mine).toBe(false);
      expect((await repo.keep(same, 'first')).mine).toBe(true);
    });

    it('lets one of many concurrent attempts win, and tells all of them which', async () => {
      const repo = await make();
      const lanes = ['review', 'autonomous', 'review', 'autonomous'] as const;
      const kept = await Promise.all(lanes.map((lane, i) => repo.keep(decision('a3', lane), `n${i}`)));
      expect(new Set(kept.map((d) => d.decision.data.lane)).size).toBe(1);
      expect(kept.filter((d) => d.mine)).toHaveLength(1);
      expect(await repo.get('a3')).toEqual(kept[0].decision);
    });

    it('answers each of many actions kept at once with its own decision', async () => {
      const repo = await make();
      await repo.keep(decision('b0', 'review'), 'before');
      const ids = Array.from({ length: 30 }, (_, i) => `b${i}`);
      const kept = await Promise.all(ids.map((id, i) => repo.keep(decision(id, i % 2 ? 'review' : 'autonomous'), `n-${id}`)));
      expect(kept.map((k) => [k.decision.subject, k.decision.data.lane, k.mine])).toEqual(
        ids.map((id, i) => [id, i === 0 || i % 2 ? 'review' : 'autonomous', id !== 'b0']),
      );
    });
  });
}
