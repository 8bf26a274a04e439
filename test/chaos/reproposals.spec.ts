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
    expect(keys).toEqual(['t0.r1']);
    expect(run).toMatchObject({ actionId: 'new-1', capped: ['a0'] });
    expect(r.busy).toBe(0);
  });

  it('doubles the pause up to its bound, and stops after the most tries', async () => {
    const r = make();
    const run: ProposalRun = { index: 0, target: 't0', intent: 'approve', actionId: 'a0' };
    r.capped(run);
    now = 5_000;
    expect(await r.proposeDue(accept, 16)).toEqual(['new-1']);
    r.capped(run); // capped again: 5 s doubled is 10 s, bounded to 8 s
    now = 12_999;
    expect(await r.proposeDue(accept, 16)).toEqual([]);
    now = 13_000;
    expect(await r.proposeDue(accept, 16)).toEqual(['new-2']);
    expect(keys).toEqual(['t0.r1', 't0.r2']);
    expect(run).toMatchObject({ actionId: 'new-2', capped: ['a0', 'new-1'] });
    // Capped a third time: two tries were the most, so it stays as it is.
    expect(r.open(run)).toBe(false);
    r.capped(run);
    expect(r.busy).toBe(0);
  });

  it('tries a proposal that was not accepted again under the same key, and counts the try', async () => {
    const r = make();
    const run: ProposalRun = { index: 0, target: 't0', intent: 'approve', actionId: 'a0' };
    r.capped(run);
    now = 5_000;
    const unavailable = async (x: ProposalRun, key: string) => {
      keys.push(key);
      x.gaveUp = '503 kafka down';
    };
    expect(await r.proposeDue(unavailable, 16)).toEqual([]);
    expect(run).toMatchObject({ actionId: 'a0', gaveUp: '503 kafka down' });
    expect(run.capped).toBeUndefined();
    // Still on its capped action, so the agent reads it as capped again: the last try, under the same key.
    r.capped(run);
    now = 15_000;
    expect(await r.proposeDue(accept, 16)).toEqual(['new-1']);
    expect(keys).toEqual(['t0.r1', 't0.r1']);
    expect(run).toMatchObject({ actionId: 'new-1', capped: ['a0'] });
    expect(run.gaveUp).toBeUndefined();
    expect(r.open(run)).toBe(false);
  });
});

describe('cappedView', () => {
  it('reads the reason code of a rejected action’s view, and nothing else as capped', () => {
    expect(cappedView({ status: 'rejected', reasonCode: 'proposer_backlog_full' })).toBe(true);
    expect(cappedView({ status: 'rejected', timeline: [{ detail: 'alice: proposer_backlog_full is what I would say' }] })).toBe(false);
    expect(cappedView({ status: 'expired', reasonCode: 'sla_expired' })).toBe(false);
  });
});
