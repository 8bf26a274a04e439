import { OUTCOME_BEING_CHECKED, OUTCOME_BEING_RECONCILED, OUTCOME_CHECK, outcomeWaiting, reached, summarise } from './action-status';
import { TimelineEntry } from './action-view.repository';

// real: the status functions (summarise, reached, outcomeWaiting); fake: the timeline entries, built by hand.
const entry = (status: TimelineEntry['status'], time: string, lane?: TimelineEntry['lane']): TimelineEntry => ({
  eventId: `${status}-${time}`,
  type: 't',
  time,
  status,
  lane,
  actor: 'x',
  detail: '',
});

describe('action status', () => {
  it('is the latest stage reached, whatever order the events arrived in', () => {
    const view = summarise([
      entry('executed', '2026-01-01T00:00:03Z'),
      entry('proposed', '2026-01-01T00:00:01Z'),
      entry('in_review', '2026-01-01T00:00:02Z', 'review'),
      entry('approved', '2026-01-01T00:00:02.5Z'),
    ]);
    expect(view.status).toBe('executed');
    expect(view.lane).toBe('review');
    expect(view.timeline.map((e) => e.status)).toEqual(['proposed', 'in_review', 'approved', 'executed']);
  });

  it('shows a refusal as the status when nothing was executed', () => {
    expect(
      summarise([
        entry('autonomous', '2026-01-01T00:00:02Z', 'autonomous'),
        entry('refused', '2026-01-01T00:00:03Z'),
        entry('proposed', '2026-01-01T00:00:01Z'),
      ]).status,
    ).toBe('refused');
  });

  it('shows a held action as held, not final, until the executor runs it', () => {
    const held = [entry('proposed', '2026-01-01T00:00:01Z'), entry('autonomous', '2026-01-01T00:00:02Z', 'autonomous'), entry('held', '2026-01-01T00:00:03Z')];
    expect(summarise(held).status).toBe('held');
    expect(reached('held', 'decision')).toBe(true);
    expect(reached('held', 'final')).toBe(false);
    // Executed after the hold, whichever event arrived first.
    expect(summarise([entry('executed', '2026-01-01T00:00:04Z'), ...held]).status).toBe('executed');
    expect(summarise([entry('refused', '2026-01-01T00:00:04Z'), ...held]).status).toBe('refused');
  });

  it('shows an unknown outcome as not final until the reconciler settles it, and its settlement whatever the clocks say', () => {
    const unknown = [
      entry('proposed', '2026-01-01T00:00:01Z'),
      entry('autonomous', '2026-01-01T00:00:02Z', 'autonomous'),
      entry('outcome_unknown', '2026-01-01T00:00:03Z'),
    ];
    expect(summarise(unknown).status).toBe('outcome_unknown');
    expect(reached('outcome_unknown', 'decision')).toBe(true);
    // The reconciler still settles it (executed or failed): read as final, it was read as failed and proposed again.
    expect(reached('outcome_unknown', 'final')).toBe(false);
    // Settled, whichever event arrived first, and even when the settling event's clock is behind the unknown one's (a
    // reconciler on another instance; a later look at it records a later unknown step before the settlement).
    for (const settled of ['executed', 'failed'] as const) {
      const early = entry(settled, '2026-01-01T00:00:02.5Z');
      expect(summarise([early, ...unknown]).status).toBe(settled);
      expect(summarise([...unknown, entry('outcome_unknown', '2026-01-01T00:00:04Z'), early]).status).toBe(settled);
      expect(reached(settled, 'final')).toBe(true);
    }
    // The timeline keeps the steps of the reconciliation before the outcome that settled it.
    expect(summarise([entry('executed', '2026-01-01T00:00:05Z'), ...unknown]).timeline.map((e) => e.status)).toEqual([
      'proposed',
      'autonomous',
      'outcome_unknown',
      'executed',
    ]);
  });

  it('says an unknown outcome waits on its settlement and must not be proposed again, and nothing of a settled one', () => {
    expect(outcomeWaiting({ status: 'outcome_unknown' })).toBe(OUTCOME_BEING_RECONCILED);
    expect(OUTCOME_BEING_RECONCILED).toMatch(/^outcome_unknown: .*settling it.*ends executed or failed\. Do not propose it again/);
    // Asked a person: says so, and still that it must not be proposed again.
    expect(outcomeWaiting({ status: 'outcome_unknown', reasonCode: OUTCOME_CHECK })).toBe(OUTCOME_BEING_CHECKED);
    expect(OUTCOME_BEING_CHECKED).toMatch(
      /^outcome_unknown: .*a person was asked to check at the target.*ends executed or failed when they answer\. Do not propose it again/,
    );
    for (const status of ['executed', 'failed', 'refused', 'held', 'approved', 'proposed'] as const) {
      expect(outcomeWaiting({ status })).toBeUndefined();
      expect(outcomeWaiting({ status, reasonCode: OUTCOME_CHECK })).toBeUndefined();
    }
  });

  it('carries the reason code of the entry that set the status, and none when that entry has none', () => {
    const capped = { ...entry('rejected', '2026-01-01T00:00:03Z'), reasonCode: 'proposer_backlog_full' };
    const held = { ...entry('held', '2026-01-01T00:00:03Z'), reasonCode: 'trust-stack-unhealthy' };
    const proposed = entry('proposed', '2026-01-01T00:00:01Z');
    expect(summarise([capped, proposed, entry('in_review', '2026-01-01T00:00:02Z', 'review')]).reasonCode).toBe('proposer_backlog_full');
    // Held, then run: the hold's code is history, on its entry only.
    const ran = summarise([entry('executed', '2026-01-01T00:00:04Z'), held, proposed]);
    expect(ran.status).toBe('executed');
    expect(ran).not.toHaveProperty('reasonCode');
    expect(ran.timeline.find((e) => e.status === 'held')?.reasonCode).toBe('trust-stack-unhealthy');
  });

  it('says `retryLater` when the entry that set the status does, and only then', () => {
    const passing = { ...entry('prohibited', '2026-01-01T00:00:02Z', 'prohibited'), reasonCode: 'degradation:constrained', retryLater: true as const };
    const proposed = entry('proposed', '2026-01-01T00:00:01Z');
    expect(summarise([passing, proposed])).toMatchObject({ status: 'prohibited', reasonCode: 'degradation:constrained', retryLater: true });
    const stands = summarise([{ ...passing, retryLater: undefined }, proposed]);
    expect(stands).not.toHaveProperty('retryLater');
  });
});
