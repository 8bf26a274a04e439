import { ControllerState, DegradationSettings, ModeInputs, nextMode, Signals } from './mode';
import { sloStatus } from './slo';
import { signalsOf } from './signals';

// real: the controller's pure decision, the SLO arithmetic and the signals; fake: the clock (numbers in ms).

const settings: DegradationSettings = {
  minDwellSeconds: 60,
  slo: { target: 0.95, windowSeconds: 86_400, burnWindowSeconds: 3_600, minDecided: 20, onBudgetExhausted: 'elevated' },
  elevated: { enter: { pending: 10, oldestAgeShare: 0.5 }, exit: { pending: 5, oldestAgeShare: 0.25 } },
  constrained: { enter: { pending: 50, burnRate: 10 }, exit: { pending: 20, burnRate: 4 } },
  halted: { enter: { pending: 200 }, exit: { pending: 100 } },
};
const quiet: Signals = { pending: 0, oldestAgeShare: 0, pendingPerReviewer: 0, burnRate: 0 };
const at = (signals: Partial<Signals>, budgetExhausted = false): ModeInputs => ({ signals: { ...quiet, ...signals }, budgetExhausted });

/** Runs the controller over a timeline of (seconds, inputs), as its ticker would, and returns the modes it set. */
function run(timeline: Array<[number, ModeInputs]>, start: ControllerState = { mode: 'normal', since: 0 }) {
  let state = start;
  return timeline.map(([s, inputs]) => {
    const d = nextMode(state, inputs, settings, s * 1000);
    state = { mode: d.mode, since: d.since };
    return { s, mode: d.mode, changed: d.changed, reason: d.reason };
  });
}

describe('the degradation controller (pure, fake clock)', () => {
  it('stays normal below every enter threshold', () => {
    expect(run([[0, at({ pending: 9, oldestAgeShare: 0.49 })]])[0]).toMatchObject({ mode: 'normal', changed: false });
  });

  it('raises at once when a signal reaches an enter threshold, straight to the highest level reached', () => {
    const [first, second] = run([
      [0, at({ pending: 10 })],
      [1, at({ pending: 250 })],
    ]);
    expect(first).toMatchObject({ mode: 'elevated', changed: true, reason: 'pending 10 ≥ 10 (enter elevated)' });
    expect(second).toMatchObject({ mode: 'halted', changed: true, reason: 'pending 250 ≥ 200 (enter halted)' });
    expect(run([[0, at({ oldestAgeShare: 0.6 })]])[0]).toMatchObject({ mode: 'elevated', reason: 'oldestAgeShare 0.6 ≥ 0.5 (enter elevated)' });
  });

  it('holds the mode between the exit and the enter threshold (hysteresis)', () => {
    const modes = run([
      [0, at({ pending: 12 })],
      [100, at({ pending: 8 })],
      [200, at({ pending: 5 })],
    ]);
    expect(modes.map((m) => m.mode)).toEqual(['elevated', 'elevated', 'elevated']);
    expect(modes[1].reason).toBe('pending 8 ≥ 5 (exit threshold of elevated not yet passed)');
  });

  it('lowers only after the minimum dwell, once every signal is below its exit threshold', () => {
    const modes = run([
      [0, at({ pending: 12 })],
      [30, at({ pending: 1 })],
      [59, at({ pending: 1 })],
      [60, at({ pending: 1 })],
    ]);
    expect(modes.map((m) => m.mode)).toEqual(['elevated', 'elevated', 'elevated', 'normal']);
    expect(modes[1].reason).toMatch(/held for the minimum dwell \(30 s left\)/);
    expect(modes[3]).toMatchObject({ changed: true, reason: 'every signal below the exit thresholds of elevated for the minimum dwell' });
  });

  it('counts the dwell from the last change, and steps down only as far as the exit thresholds allow', () => {
    const modes = run([
      [0, at({ pending: 60 })],
      [10, at({ pending: 250 })],
      [65, at({ pending: 30 })],
      [70, at({ pending: 30 })],
      [140, at({ pending: 6 })],
      [200, at({ pending: 4 })],
    ]);
    expect(modes.map((m) => m.mode)).toEqual(['constrained', 'halted', 'halted', 'constrained', 'elevated', 'normal']);
    // Halted since 10 s: at 65 s the dwell has 5 s left; at 70 s pending 30 is still above constrained's exit (20).
    expect(modes[2].reason).toMatch(/5 s left/);
    expect(modes[3].reason).toBe('pending 30 ≥ 20 (still above the exit threshold of constrained)');
    // Constrained since 70 s: at 140 s, 6 is below constrained's exit but above elevated's (5); 60 s later, below all.
    expect(modes[4].reason).toBe('pending 6 ≥ 5 (still above the exit threshold of elevated)');
    expect(modes[5]).toMatchObject({ changed: true, reason: 'every signal below the exit thresholds of elevated for the minimum dwell' });
  });

  it('an exhausted error budget raises the mode and holds it there until the budget recovers', () => {
    const modes = run([
      [0, at({}, true)],
      [1_000, at({}, true)],
      [2_000, at({}, false)],
    ]);
    expect(modes.map((m) => m.mode)).toEqual(['elevated', 'elevated', 'normal']);
    expect(modes[0].reason).toBe('an SLA class has exhausted its error budget: at least elevated');
    expect(modes[1].reason).toBe('an SLA class has exhausted its error budget: at least elevated');
  });

  it('a fast burn rate raises the mode like any signal', () => {
    expect(run([[0, at({ burnRate: 12 })]])[0]).toMatchObject({ mode: 'constrained', reason: 'burnRate 12 ≥ 10 (enter constrained)' });
  });

  it('without thresholds in the contract the mode is normal', () => {
    expect(nextMode({ mode: 'halted', since: 0 }, at({ pending: 1e6 }), undefined, 0)).toMatchObject({ mode: 'normal', changed: true });
  });
});

describe('the governance SLOs', () => {
  const classes = { critical: 300, high: 900 };
  const slo = settings.slo!;

  it('spends the error budget with late items and burns it at the rate of misses over the allowed share', () => {
    const [critical, high] = sloStatus(classes, slo, [{ slaClass: 'high', decided: 100, late: 3 }], [{ slaClass: 'high', decided: 40, late: 4 }]);
    expect(critical).toMatchObject({ slaClass: 'critical', compliance: 1, budgetRemaining: 1, exhausted: false, burnRate: 0 });
    expect(high.compliance).toBeCloseTo(0.97);
    // 5 misses allowed in 100, 3 spent; 10 % missed in the burn window is twice the allowed 5 %.
    expect(high.budgetRemaining).toBeCloseTo(0.4);
    expect(high.burnRate).toBeCloseTo(2);
    expect(high.exhausted).toBe(false);
  });

  it('is exhausted once the misses reach the allowed share, and ignores a handful of items', () => {
    expect(sloStatus(classes, slo, [{ slaClass: 'high', decided: 100, late: 5 }], [])[1]).toMatchObject({ exhausted: true, budgetRemaining: 0 });
    expect(sloStatus(classes, slo, [{ slaClass: 'high', decided: 3, late: 3 }], [{ slaClass: 'high', decided: 3, late: 3 }])[1]).toMatchObject({
      exhausted: false,
      budgetRemaining: 1,
      burnRate: 0,
      compliance: 0,
    });
  });

  it('turns the gauges and the roster into signals: nobody on shift for a role with items is an unbounded load', () => {
    const now = Date.parse('2026-11-30T10:00:00Z');
    const backlog = {
      bySlaClass: { high: { depth: 3, oldestCreatedAt: now - 450_000 }, critical: { depth: 1, oldestCreatedAt: now - 60_000 } },
      byRole: { finance: { depth: 3, oldestCreatedAt: now - 450_000 }, security: { depth: 1, oldestCreatedAt: now - 60_000 } },
    };
    expect(signalsOf(backlog, { finance: 2, security: 1 }, classes, [], now)).toEqual({
      pending: 4,
      oldestAgeShare: 0.5,
      pendingPerReviewer: 1.5,
      burnRate: 0,
    });
    expect(signalsOf(backlog, { finance: 2 }, classes, [], now).pendingPerReviewer).toBe(Infinity);
  });

  it("judges an item's age by its own window, not by its class's SLA now (lifecycle probe: a shortened SLA constrained all)", () => {
    const now = Date.parse('2026-11-30T10:00:00Z');
    // Queued 95 s ago under `high: 600`; the contract now says `high: 60`.
    const backlog = {
      bySlaClass: { high: { depth: 1, oldestCreatedAt: now - 95_000 } },
      byRole: { finance: { depth: 1, oldestCreatedAt: now - 95_000 } },
      byWindow: { '600': { depth: 1, oldestCreatedAt: now - 95_000 } },
    };
    expect(signalsOf(backlog, { finance: 1 }, { high: 60 }, [], now).oldestAgeShare).toBeCloseTo(95 / 600);
    // Gauges without windows (counted before they were kept) fall back to the class's SLA.
    const { byWindow: _, ...before } = backlog;
    expect(signalsOf(before, { finance: 1 }, { high: 60 }, [], now).oldestAgeShare).toBeCloseTo(95 / 60);
  });
});
