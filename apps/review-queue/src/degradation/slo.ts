// The governance SLOs: per SLA class, the share of items decided within their SLA against the contract's target,
// the error budget that leaves, and how fast it burns. Pure: the counts come from PostgreSQL (`ReviewHistory`).
import type { DegradationSettings } from './mode';

/** Approval items decided in a window, per SLA class; `late` were decided after their due time or expired. */
export interface DecidedCounts {
  slaClass: string;
  decided: number;
  late: number;
}

export interface SloStatus {
  slaClass: string;
  /** The share to decide within SLA (e.g. 0.95). */
  target: number;
  window: { seconds: number; decided: number; late: number };
  /** Decided within SLA in the window (1 with nothing decided). */
  compliance: number;
  /** Share of the error budget left in the window (1 untouched, 0 or below spent); 1 below `minDecided` items. */
  budgetRemaining: number;
  exhausted: boolean;
  /** How fast the budget burns over the short window: 1 spends it exactly over the SLO window. 0 below `minDecided`. */
  burnRate: number;
  burnWindow: { seconds: number; decided: number; late: number };
}

const DEFAULT_MIN_DECIDED = 20;

/** The SLO of every class named in the contract or seen in the counts. */
export function sloStatus(
  slaClasses: Record<string, number>,
  slo: DegradationSettings['slo'],
  window: DecidedCounts[],
  burnWindow: DecidedCounts[],
): SloStatus[] {
  if (!slo) return [];
  const minDecided = slo.minDecided ?? DEFAULT_MIN_DECIDED;
  const classes = [...new Set([...Object.keys(slaClasses), ...window.map((c) => c.slaClass), ...burnWindow.map((c) => c.slaClass)])].sort();
  return classes.map((slaClass) => {
    const target = slo.classTargets?.[slaClass] ?? slo.target;
    const w = window.find((c) => c.slaClass === slaClass) ?? { decided: 0, late: 0 };
    const b = burnWindow.find((c) => c.slaClass === slaClass) ?? { decided: 0, late: 0 };
    const allowed = (1 - target) * w.decided;
    const counted = w.decided >= minDecided;
    // Rounded: 5 misses of 5 allowed is a spent budget, not 1e-16 of one left.
    const budgetRemaining = counted ? Math.round((1 - w.late / allowed) * 1e9) / 1e9 : 1;
    return {
      slaClass,
      target,
      window: { seconds: slo.windowSeconds, decided: w.decided, late: w.late },
      compliance: w.decided ? (w.decided - w.late) / w.decided : 1,
      budgetRemaining,
      exhausted: counted && budgetRemaining <= 0,
      burnRate: b.decided >= minDecided ? b.late / b.decided / (1 - target) : 0,
      burnWindow: { seconds: slo.burnWindowSeconds, decided: b.decided, late: b.late },
    };
  });
}
