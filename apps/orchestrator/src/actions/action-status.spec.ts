import { reached, summarise } from './action-status';
import { TimelineEntry } from './action-view.repository';

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
