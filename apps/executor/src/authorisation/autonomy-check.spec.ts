import { readFileSync } from 'node:fs';
import { parseContract, RunningContract } from '@countersign/policy';
import { autonomousDecisionData, PROJECT_CONTRACT_PATH, smallRefundProposal } from '@countersign/testing';
import { checkAutonomousDecision } from './autonomy-check';

// real: the check, the policy evaluation, the project contract with its night-time rule made decisive; fake: nothing.
describe('the autonomous-decision check reads the contract at the time the policy engine read it (red team, round 15)', () => {
  // The project contract with its night-time points raised past a small refund's review threshold: at 23:00 UTC a
  // refund the contract lets run by day goes to review.
  const text = readFileSync(PROJECT_CONTRACT_PATH, 'utf8').replace(
    '{ id: night-time, when: { any: [{ field: time.hour, lt: 5 }, { field: time.hour, gte: 23 }] }, points: 5 }',
    '{ id: night-time, when: { any: [{ field: time.hour, lt: 5 }, { field: time.hour, gte: 23 }] }, points: 50 }',
  );
  const contract = new RunningContract(parseContract(text, 'night.yaml'));
  const data = autonomousDecisionData(smallRefundProposal(), contract);
  const record = { actionId: 'a1', digest: data.digest, proposal: data.proposal, contractVersion: data.contractVersion };

  it('takes a decision read before the boundary, though checked after it; refuses one read after it', () => {
    expect(text).toContain('points: 50 }');
    expect(checkAutonomousDecision(record, new Date('2026-12-01T22:59:59.950Z'), contract)).toEqual({ ok: true });
    expect(checkAutonomousDecision(record, new Date('2026-12-01T23:00:00.020Z'), contract)).toMatchObject({
      ok: false,
      suspicious: true,
      refusal: { code: 'not-authorised' },
    });
  });
});
