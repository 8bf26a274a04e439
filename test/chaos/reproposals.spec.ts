import { Reproposals } from './reproposals';
import type { ProposalRun } from './tally';

// real: the harness agent's re-proposal schedule; fake: the clock and the submission (a function that "accepts").

describe('chaos agent: proposing again what it was told to', () => {
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

  it('proposes it again after the pause, under a new key, and remembers the action it replaces and why', async () => {
    const r = make();
    const run: ProposalRun = { index: 0, target: 't0', intent: 'approve', actionId: 'a0' };
    r.toldAgain(run, 'proposer_backlog_full');
    r.toldAgain(run, 'proposer_backlog_full'); // told twice: still one re-proposal
    expect(r.busy).toBe(1);
    expect(await r.proposeDue(accept, 16)).toEqual([]); // not yet due
    now = 5_000;
    expect(await r.proposeDue(accept, 16)).toEqual(['new-1']);
    expect(keys).toEqual(['t0.r1']);
    expect(run).toMatchObject({ actionId: 'new-1', replaced: [{ actionId: 'a0', reason: 'proposer_backlog_full' }] });
    expect(r.busy).toBe(0);
  });

  it('doubles the pause up to its bound, and stops after the most tries', async () => {
    const r = make();
    const run: ProposalRun = { index: 0, target: 't0', intent: 'approve', actionId: 'a0' };
    r.toldAgain(run, 'proposer_backlog_full');
    now = 5_000;
    expect(await r.proposeDue(accept, 16)).toEqual(['new-1']);
    r.toldAgain(run, 'trust-stack:unknown'); // told again: 5 s doubled is 10 s, bounded to 8 s
    now = 12_999;
    expect(await r.proposeDue(accept, 16)).toEqual([]);
    now = 13_000;
    expect(await r.proposeDue(accept, 16)).toEqual(['new-2']);
    expect(keys).toEqual(['t0.r1', 't0.r2']);
    expect(run).toMatchObject({
      actionId: 'new-2',
      replaced: [
        { actionId: 'a0', reason: 'proposer_backlog_full' },
        { actionId: 'new-1', reason: 'trust-stack:unknown' },
      ],
    });
    // Told a third time: two tries were the most, so it stays as it is.
    expect(r.open(run)).toBe(false);
    r.toldAgain(run, 'proposer_backlog_full');
    expect(r.busy).toBe(0);
  });

  it('tries a proposal that was not accepted again by itself, later, under the same key, and counts the try', async () => {
    const r = make();
    const run: ProposalRun = { index: 0, target: 't0', intent: 'approve', actionId: 'a0' };
    r.toldAgain(run, 'proposer_backlog_full');
    now = 5_000;
    const unavailable = async (x: ProposalRun, key: string) => {
      keys.push(key);
      x.gaveUp = '503 kafka down';
    };
    expect(await r.proposeDue(unavailable, 16)).toEqual([]);
    expect(run).toMatchObject({ actionId: 'a0', gaveUp: '503 kafka down' });
    expect(run.replaced).toBeUndefined();
    // The action it replaces is settled, so no view says it again: it waits again by itself (5 s doubled, bounded to 8 s).
    expect(r.busy).toBe(1);
    now = 12_999;
    expect(await r.proposeDue(accept, 16)).toEqual([]);
    now = 13_000;
    expect(await r.proposeDue(accept, 16)).toEqual(['new-1']);
    expect(keys).toEqual(['t0.r1', 't0.r1']);
    expect(run).toMatchObject({ actionId: 'new-1', replaced: [{ actionId: 'a0', reason: 'proposer_backlog_full' }] });
    expect(run.gaveUp).toBeUndefined();
    expect(r.open(run)).toBe(false);
  });

  it('gives up after the most tries when none is accepted', async () => {
    const r = make();
    const run: ProposalRun = { index: 0, target: 't0', intent: 'approve', actionId: 'a0' };
    r.toldAgain(run, 'trust-stack:unknown');
    const unavailable = async (x: ProposalRun, key: string) => {
      keys.push(key);
      x.gaveUp = 'network';
    };
    for (now = 0; now <= 60_000; now += 1_000) await r.proposeDue(unavailable, 16);
    expect(keys).toEqual(['t0.r1', 't0.r1']);
    expect(r.busy).toBe(0);
    expect(run).toMatchObject({ actionId: 'a0', gaveUp: 'network' });
  });
});
