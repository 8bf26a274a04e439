import { goals, Outcome, ProposalRun, tally } from './tally';
import type { TargetRecord } from './target';

// real: the chaos harness's counting; fake: the runs, outcomes and target records (built by hand).

const effect = (...keys: Array<[string, number]>): TargetRecord => ({ keys: new Map(keys), actionIds: new Set(keys.map(([k]) => k)) });

describe('chaos tally', () => {
  it('counts a clean run as clean: each expected effect once, the rejection without one, nothing stuck', () => {
    const runs: ProposalRun[] = [
      { index: 0, target: 't0', intent: 'autonomous', actionId: 'a0' },
      { index: 1, target: 't1', intent: 'approve', actionId: 'a1' },
      { index: 2, target: 't2', intent: 'reject', actionId: 'a2' },
    ];
    const outcomes = new Map<string, Outcome>([
      ['a0', { view: 'executed' }],
      ['a1', { view: 'executed' }],
      ['a2', { view: 'rejected' }],
    ]);
    const f = tally(
      runs,
      outcomes,
      new Map([
        ['t0', effect(['k0', 1])],
        ['t1', effect(['k1', 2])],
      ]),
    );
    expect(f).toMatchObject({ accepted: 3, expectedEffects: 2, executed: 2, lost: [], duplicated: [], unapproved: [], stuck: [] });
    // A redelivery under the same key is absorbed by the target: one effect, two deliveries.
    expect(f.effects).toEqual({ distinct: 2, duplicate: 0, deliveries: 3, redeliveries: 1, ofNotAccepted: 0 });
    expect(goals(f, { complete: true, verified: true }).every((g) => g.ok)).toBe(true);
  });

  it('finds the double refund, the lost action, the effect without approval and the stuck action', () => {
    const runs: ProposalRun[] = [
      // Two actions of one proposal (its idempotency key forgotten): two keys at the target.
      { index: 0, target: 't0', intent: 'autonomous', actionId: 'a0' },
      // Accepted, then forgotten: no view, nothing audited, never executed.
      { index: 1, target: 't1', intent: 'autonomous', actionId: 'a1' },
      { index: 2, target: 't2', intent: 'reject', actionId: 'a2' },
      // Approved by the reviewer, and left at `approved`.
      { index: 3, target: 't3', intent: 'approve', actionId: 'a3' },
    ];
    const outcomes = new Map<string, Outcome>([
      ['a0', { view: 'executed' }],
      ['a2', { view: 'rejected' }],
      ['a3', { view: 'approved' }],
    ]);
    const f = tally(
      runs,
      outcomes,
      new Map([
        ['t0', effect(['k0', 1], ['k0-again', 1])],
        ['t2', effect(['k2', 1])],
      ]),
    );
    expect(f.duplicated).toEqual(['t0']);
    expect(f.effects.duplicate).toBe(1);
    expect(f.lost).toEqual(['t1', 't3']);
    expect(f.unapproved).toEqual(['t2']);
    expect(f.stuck).toEqual([
      { target: 't1', actionId: 'a1', status: 'unknown' },
      { target: 't3', actionId: 'a3', status: 'approved' },
    ]);
    expect(f.viewsMissing).toBe(1);
    expect(
      goals(f, { complete: true, verified: true })
        .filter((g) => !g.ok)
        .map((g) => g.name),
    ).toEqual(['0 lost', '0 duplicate', '0 executed without approval', '0 stuck']);
  });

  it('takes the audit log’s terminal state when the view is gone, and a pending human item as waiting, not stuck', () => {
    const runs: ProposalRun[] = [
      { index: 0, target: 't0', intent: 'autonomous', actionId: 'a0' },
      { index: 1, target: 't1', intent: 'autonomous', actionId: 'a1' },
      { index: 2, target: 't2', intent: 'autonomous', gaveUp: '503 kafka down' },
    ];
    const outcomes = new Map<string, Outcome>([
      ['a0', { audited: 'executed' }],
      // Outcome unknown, and a person is asked whether it happened.
      ['a1', { view: 'outcome_unknown', humanItem: true }],
    ]);
    const f = tally(
      runs,
      outcomes,
      new Map([
        ['t0', effect(['k0', 1])],
        ['t1', effect(['k1', 1])],
      ]),
    );
    expect(f).toMatchObject({ accepted: 2, notAccepted: 1, executed: 1, viewsMissing: 1, waitingForHuman: 1, stuck: [], lost: [] });
    expect(f.byStatus).toEqual({ executed: 1, outcome_unknown: 1 });
  });

  it('counts a proposal the agent was told to propose again by its last action, by reason; a replaced action that ran is unapproved', () => {
    const capped = (actionId: string) => ({ actionId, reason: 'proposer_backlog_full' });
    const runs: ProposalRun[] = [
      // Capped, then prohibited while the trust verdict was unknown, the third proposal approved and run: not lost.
      { index: 0, target: 't0', intent: 'approve', actionId: 'a0-3', replaced: [capped('a0-1'), { actionId: 'a0-2', reason: 'trust-stack:unknown' }] },
      // Capped once, proposed again, and that one still waits for nothing: lost.
      { index: 1, target: 't1', intent: 'approve', actionId: 'a1-2', replaced: [capped('a1-1')] },
      // Capped, and the capped action reached the target anyway (the cap's rejection ignored).
      { index: 2, target: 't2', intent: 'approve', actionId: 'a2-2', replaced: [capped('a2-1')] },
    ];
    const outcomes = new Map<string, Outcome>([
      ['a0-3', { view: 'executed' }],
      ['a1-2', { view: 'rejected' }],
      ['a2-2', { view: 'rejected' }],
    ]);
    const target = (key: string, actionId: string): TargetRecord => ({ keys: new Map([[key, 1]]), actionIds: new Set([actionId]) });
    const f = tally(
      runs,
      outcomes,
      new Map([
        ['t0', target('k0', 'a0-3')],
        ['t2', target('k2', 'a2-1')],
      ]),
    );
    expect(f.proposedAgain).toEqual({ proposals: 3, reproposals: 4, byReason: { proposer_backlog_full: 3, 'trust-stack:unknown': 1 } });
    expect(f.lost).toEqual(['t1']);
    expect(f.unapproved).toEqual(['t2']);
    expect(f.duplicated).toEqual([]);
    expect(f).toMatchObject({ accepted: 3, expectedEffects: 3, executed: 1, stuck: [] });
  });
});
