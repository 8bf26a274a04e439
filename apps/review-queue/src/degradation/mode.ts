// The degradation controller's decision, as a pure function of its inputs and the time: unit-tested with a fake clock.
import type { LoadedContract } from '@countersign/policy';

/** The modes, mildest first (what each does: libs/policy evaluate.ts). */
export const MODES = ['normal', 'elevated', 'constrained', 'halted'] as const;
export type Mode = (typeof MODES)[number];
const LEVELS = ['elevated', 'constrained', 'halted'] as const;
type Level = (typeof LEVELS)[number];

/** The contract's `degradation:` section. */
export type DegradationSettings = NonNullable<LoadedContract['degradation']>;

/** What the controller reads; see the contract schema's `degradation` for each signal. */
export interface Signals {
  pending: number;
  oldestAgeShare: number;
  /** Infinite when a role has items and nobody of it is on shift. */
  pendingPerReviewer: number;
  burnRate: number;
}
export type Signal = keyof Signals;

export interface ModeInputs {
  signals: Signals;
  /** Some SLA class has spent its whole error budget in the SLO window. */
  budgetExhausted: boolean;
}

/** The mode computed last, and since when (ms): the dwell counts from `since`. */
export interface ControllerState {
  mode: Mode;
  since: number;
}

export interface ModeDecision extends ControllerState {
  changed: boolean;
  /** Why the mode is what it is, in words (the event's `reason`, `GET /v1/governance`). */
  reason: string;
}

export const rank = (m: Mode) => MODES.indexOf(m);
const higher = (a: Mode, b: Mode): Mode => (rank(a) >= rank(b) ? a : b);

/** The first signal of `thresholds` at or above its value, described. */
function reached(signals: Signals, thresholds: Partial<Record<Signal, number>>): string | undefined {
  for (const [signal, value] of Object.entries(thresholds) as Array<[Signal, number]>)
    if (signals[signal] >= value) return `${signal} ${show(signals[signal])} ≥ ${value}`;
  return undefined;
}

const show = (n: number) => (Number.isFinite(n) ? String(Math.round(n * 1000) / 1000) : 'unbounded (nobody on shift)');

/**
 * The next mode. Raising is immediate: the highest level one of whose `enter` thresholds a signal reaches (and,
 * while an error budget is exhausted, at least `slo.onBudgetExhausted`). Lowering waits: only after
 * `minDwellSeconds` in the current mode, and only to the highest level one of whose `exit` thresholds a signal
 * still reaches (hysteresis: between exit and enter the mode holds). No settings: always normal.
 */
export function nextMode(state: ControllerState, inputs: ModeInputs, settings: DegradationSettings | undefined, now: number): ModeDecision {
  const stay = (reason: string): ModeDecision => ({ ...state, changed: false, reason });
  const move = (mode: Mode, reason: string): ModeDecision => ({ mode, since: now, changed: true, reason });
  if (!settings)
    return state.mode === 'normal' ? stay('no degradation thresholds in the contract') : move('normal', 'no degradation thresholds in the contract');
  const floor: Mode = inputs.budgetExhausted && settings.slo ? settings.slo.onBudgetExhausted : 'normal';
  const floorReason = `an SLA class has exhausted its error budget: at least ${floor}`;

  let up: Mode = 'normal';
  let upReason = '';
  for (const level of LEVELS) {
    const why = reached(inputs.signals, settings[level].enter);
    if (why) [up, upReason] = [level, `${why} (enter ${level})`];
  }
  if (rank(floor) > rank(up)) [up, upReason] = [floor, floorReason];
  if (rank(up) > rank(state.mode)) return move(up, upReason);

  if (state.mode === 'normal') return stay('every signal below the elevated enter thresholds');
  const current = state.mode as Level;
  const holding = reached(inputs.signals, settings[current].exit);
  if (holding) return stay(`${holding} (exit threshold of ${current} not yet passed)`);
  if (rank(floor) >= rank(current)) return stay(floorReason);
  const dwellMs = settings.minDwellSeconds * 1000;
  if (now - state.since < dwellMs)
    return stay(
      `every signal below the exit thresholds of ${current}, held for the minimum dwell (${Math.ceil((dwellMs - (now - state.since)) / 1000)} s left)`,
    );

  let down: Mode = 'normal';
  let downReason = `every signal below the exit thresholds of ${current} for the minimum dwell`;
  for (const level of LEVELS) {
    if (rank(level) >= rank(current)) break;
    const why = reached(inputs.signals, settings[level].exit);
    if (why) [down, downReason] = [level, `${why} (still above the exit threshold of ${level})`];
  }
  return move(higher(down, floor), downReason);
}
