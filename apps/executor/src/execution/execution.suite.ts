import { refundProposal } from '@countersign/testing';
import type { Proposal } from '@countersign/contracts';
import { ExecutionRepository, ReviewDecidedEvent } from './execution.repository';

const proposal: Proposal = refundProposal();
const decision = (actionId: string, decisionEventId = `d-${actionId}`) => ({
  actionId,
  correlationId: 'c',
  decisionEventId,
  digest: 'a'.repeat(64),
  lane: 'review' as const,
  proposal,
});

/** The execution-record contract: the PostgreSQL repository and its in-memory twin both pass it. */
export function executionSuite(name: string, make: () => Promise<ExecutionRepository>) {
  describe(`ExecutionRepository shared suite: ${name}`, () => {
    it('keeps the first decision for an action', async () => {
      const repo = await make();
      expect(await repo.saveDecision(decision('a1', 'first'))).toMatchObject({
        actionId: 'a1',
        decisionEventId: 'first',
        state: 'decided',
        proposal,
        lane: 'review',
      });
      // A second decision leaves the first in place, and says so by returning it.
      expect(await repo.saveDecision(decision('a1', 'second'))).toMatchObject({ decisionEventId: 'first', state: 'decided' });
      expect(await repo.get('a1')).toMatchObject({ decisionEventId: 'first', state: 'decided', proposal, lane: 'review' });
      expect(await repo.get('a2')).toBeUndefined();
    });

    it('gives every one of many concurrent deliveries the same stored decision', async () => {
      const repo = await make();
      const stored = await Promise.all(Array.from({ length: 8 }, (_, i) => repo.saveDecision(decision('c1', `d-${i}`))));
      const kept = (await repo.get('c1'))!.decisionEventId;
      expect(stored.map((r) => r.decisionEventId)).toEqual(stored.map(() => kept));
    });

    it('lets exactly one of many concurrent claims execute', async () => {
      const repo = await make();
      await repo.saveDecision(decision('a1'));
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => repo.claim('a1', `cause-${i}`, null, new Date())));
      expect(results.filter((r) => r.claimed)).toHaveLength(1);
      const record = await repo.get('a1');
      expect(record).toMatchObject({ state: 'executing' });
      expect(record!.claimedAt).toBeDefined();
    });

    it('consumes an approval nonce once, across actions', async () => {
      const repo = await make();
      await repo.saveDecision(decision('a1'));
      await repo.saveDecision(decision('a2'));
      expect(await repo.claim('a1', 'e1', 'nonce-1', new Date())).toEqual({ claimed: true });
      expect(await repo.claim('a2', 'e2', 'nonce-1', new Date())).toEqual({ claimed: false, reason: 'approval-consumed' });
      expect((await repo.get('a2'))!.state).toBe('decided');
    });

    it('does not consume a nonce when the action cannot be claimed', async () => {
      const repo = await make();
      expect(await repo.claim('missing', 'e1', 'nonce-2', new Date())).toEqual({ claimed: false, reason: 'not-decided' });
      await repo.saveDecision(decision('later'));
      expect(await repo.claim('later', 'e1', 'nonce-2', new Date())).toEqual({ claimed: true });
    });

    it('records the outcome with the event to publish again', async () => {
      const repo = await make();
      await repo.saveDecision(decision('a1'));
      await repo.claim('a1', 'cause', null, new Date());
      await repo.finish('a1', 'executed', { topic: 'execution.action.executed.v1', data: { connector: 'webhook' } });
      expect(await repo.get('a1')).toMatchObject({
        state: 'executed',
        authorisedBy: 'cause',
        outcome: { topic: 'execution.action.executed.v1', data: { connector: 'webhook' } },
      });
    });

    it('keeps an early approval until it is taken, once', async () => {
      const repo = await make();
      const event = { id: 'e1', subject: 'a9', data: { decision: 'approved' } } as unknown as ReviewDecidedEvent;
      await repo.keepEarlyApproval('a9', event);
      expect(await repo.takeEarlyApproval('a9')).toEqual(event);
      expect(await repo.takeEarlyApproval('a9')).toBeUndefined();
    });
  });
}
