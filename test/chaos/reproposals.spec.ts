import { cappedView, Reproposals } from './reproposals';
import type { ProposalRun } from './tally';

// real: the harness agent's re-proposal schedule; fake: the clock and the submission (a function that "accepts").

describe('chaos agent: proposing a capped approval again', () => {
  let now = 0;
  const make = () => new Reproposals({ maxAttempts: 2, firstDelayMs: 5_000, maxDelayMs: 8_000, now: () => now });
  let next = 0;
  const accept = async (run: ProposalRun, key: string) => {
    keys.push(key);
    run.actionId = `new-${++next}`;
  };
  let keys: string[] = [];
  beforeEach(() => {
    [now, next, keys] = [0, 0, []];
  });

  it('proposes it again after the pause, under a new key, and remembers the capped action', async () => {
    const r = make();
    const run: ProposalRun = { index: 0, target: 't0', intent: 'approve', actionId: 'a0' };
    r.capped(run);
    r.capped(run); // told twice (log and view): still one re-proposal
    expect(r.busy).toBe(1);
    expect(await r.proposeDue(accept, 16)).toEqual([]); // not yet due
    now = 5_000;
    expect(await r.proposeDue(accept, 16)).toEqual(['new-1']);
    expect(keys).toEqual(['t0~1']);
    expect(run).toMatchObject({ actionId: 'new-1', capped: ['a0'] });
    expect(r.busy).toBe(0);
  });

  it('doubles the pause up to its bound, and stops after the most attempts', async () => {
    const r = make();
    const run: ProposalRun = { index: 0, target: 't0', intent: 'approve', actionId: 'a0', capped: ['c1'] };
    r.capped(run); // the second cap: 5 s doubled is 10 s, bounded to 8 s
    now = 7_999;
    expect(await r.proposeDue(accept, 16)).toEqual([]);
    now = 8_000;
    expect(await r.proposeDue(accept, 16)).toEqual(['new-1']);
    expect(keys).toEqual(['t0~2']);
    expect(run.capped).toEqual(['c1', 'a0']);
    // Capped a third time: two attempts were the most, so it stays as it is.
    expect(r.open(run)).toBe(false);
    r.capped(run);
    expect(r.busy).toBe(0);
  });

  it('leaves a run on its capped action when the submission gives up, and may try it again', async () => {
    const r = make();
    const run: ProposalRun = { index: 0, target: 't0', intent: 'approve', actionId: 'a0' };
    r.capped(run);
    now = 5_000;
    expect(await r.proposeDue(async (x) => void (x.gaveUp = '503 kafka down'), 16)).toEqual([]);
    expect(run).toMatchObject({ actionId: 'a0', gaveUp: '503 kafka down' });
    expect(run.capped).toBeUndefined();
    expect(r.open(run)).toBe(true);
  });
});

describe('cappedView', () => {
  it('reads the reason code of a rejected action’s view, and nothing else as capped', () => {
    expect(cappedView({ status: 'rejected', reasonCode: 'proposer_backlog_full' })).toBe(true);
    expect(cappedView({ status: 'rejected', timeline: [{ detail: 'alice: proposer_backlog_full is what I would say' }] })).toBe(false);
    expect(cappedView({ status: 'expired', reasonCode: 'sla_expired' })).toBe(false);
  });
});
