import type { FlagContext, FlagReader, FlagState } from './flag-reader';

/** The autonomy levels a flag's variant names, from the strictest to the loosest. */
export const AUTONOMY_LEVELS = ['off', 'review-all', 'review-risky', 'autonomous'] as const;
export type ControlledLevel = (typeof AUTONOMY_LEVELS)[number];

/** What a controlled flag is: an action type's kill switch (on = may execute) or its autonomy level. */
export type ControlKind = 'kill-switch' | 'autonomy';

/** The value of a controlled flag: `on`/`off` for a kill switch, a level for autonomy. */
export type ControlValue = 'on' | 'off' | ControlledLevel;

/**
 * Strictness ranks, lowest = strictest. `unknown` (a flag that cannot be read) ranks just above `off`: it
 * fails closed (the kill switch stops execution, autonomy sends to review) but an explicit `off` says more.
 */
const RANK: Record<ControlKind, Record<string, number>> = {
  'kill-switch': { off: 0, unknown: 1, on: 2 },
  autonomy: { off: 0, unknown: 1, 'review-all': 2, 'review-risky': 3, autonomous: 4 },
};

/** Whether `value` is a value of a flag of `kind` (an unknown string is not). */
export const isControlValue = (kind: ControlKind, value: string): value is ControlValue => value !== 'unknown' && value in RANK[kind];

/**
 * The stricter of two values of one controlled flag: what Unleash says and what the control topic says,
 * or what was approved and what is observed. A value this table does not know counts as `unknown`.
 */
export function stricterOf<T extends string>(kind: ControlKind, a: T, b: T): T {
  const rank = (v: string) => RANK[kind][v] ?? RANK[kind].unknown;
  return rank(b) < rank(a) ? b : a;
}

/** Whether `to` is strictly looser than `from` (a raise, which needs a second admin). */
export const isLooser = (kind: ControlKind, from: string, to: string): boolean => from !== to && stricterOf(kind, from, to) === from;

/** The loosest value of a kind: over a flag Unleash does not know, a control entry only ever restricts. */
const LOOSEST: Record<ControlKind, ControlValue> = { 'kill-switch': 'on', autonomy: 'autonomous' };

/** One entry of the control topic: the state Countersign approved for a flag. */
export interface FlagControl {
  flag: string;
  kind: ControlKind;
  value: ControlValue;
  /** The control event that set it (its id): a change request names the approved state it starts from by it. */
  version?: string;
}

/**
 * The control topic's entries as one process holds them: the latest per flag (the topic is compacted and
 * replayed at every start). A service reads its flags through `withFlagControls`, so the stricter of
 * Unleash and the control topic is in force as soon as an entry arrives, without waiting for Unleash polling.
 */
export class FlagControls {
  private readonly entries = new Map<string, FlagControl>();
  private readonly waiters = new Set<() => void>();
  private replayed = false;

  /** Whether the control topic has been read up to the end it had when this process subscribed. */
  caughtUp(): boolean {
    return this.replayed;
  }

  /** Called by the follower once the topic is read to its end: until then every controlled flag reads unknown. */
  markCaughtUp(): void {
    this.replayed = true;
  }

  apply(entry: FlagControl): void {
    this.entries.set(entry.flag, { ...entry });
    for (const w of [...this.waiters]) w();
  }

  /**
   * Applies an entry that only states what Countersign found (an adoption at the first look, or a stricter change of a
   * flag with no approved state: `accepted` with no `previous`), never loosening one it holds already: such an event
   * can be published just after an approved lowering it did not know of (it read Unleash before the lowering was written
   * there), and must not undo it.
   */
  adopt(entry: FlagControl): void {
    const held = this.entries.get(entry.flag);
    if (held && stricterOf(entry.kind, held.value, entry.value) === held.value) return;
    this.apply(entry);
  }

  /** Applies one event of the control topic (`control.autonomy.changed.v1`), as every follower of it does. */
  applyEvent(e: { id: string; data: { flag: string; control: ControlKind; value: ControlValue; change: string; previous?: string } }): void {
    const entry = { flag: e.data.flag, kind: e.data.control, value: e.data.value, version: e.id };
    if (e.data.change === 'accepted' && e.data.previous === undefined) this.adopt(entry);
    else this.apply(entry);
  }

  get(flag: string): FlagControl | undefined {
    const e = this.entries.get(flag);
    return e && { ...e };
  }

  all(): FlagControl[] {
    return [...this.entries.values()].map((e) => ({ ...e }));
  }

  /** Resolves true once `flag` holds `value` here, false after `timeoutMs`. */
  waitFor(flag: string, value: ControlValue, timeoutMs: number): Promise<boolean> {
    if (this.entries.get(flag)?.value === value) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(ok);
      };
      const check = () => this.entries.get(flag)?.value === value && done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.waiters.add(check);
    });
  }
}

/** Unleash's answer for a flag, as a control value (`unknown` when it cannot say). */
function observed(kind: ControlKind, state: FlagState, variant: string | undefined): string {
  if (state !== 'on') return state; // off or unknown
  if (kind === 'kill-switch') return 'on';
  if (variant === undefined) return 'unknown'; // an enabled flag whose variant cannot be picked (as autonomyLevel reads it)
  return isControlValue('autonomy', variant) ? variant : 'unknown';
}

/**
 * A FlagReader that answers the stricter of `reader` (Unleash, or the embedded mode's file) and the control
 * topic's entry for each controlled flag. Flags without an entry read as `reader` says. Over a flag the reader
 * does not know, an entry only restricts: a kill switch `off` or a lowered level is served, a loosest value
 * (`on`, `autonomous`) is not, so a flag never seen still fails closed.
 */
export function withFlagControls(reader: FlagReader, controls: FlagControls): FlagReader {
  // Until the control topic is read to its end, an entry stricter than Unleash may still be on its way: nothing reads
  // as known, so nothing is decided or executed on a looser value (the bus retries until it is read).
  const NOT_READ = 'the autonomy control topic (control.autonomy.changed.v1) is not read to its end yet';
  /** The control entry's value when it is the stricter one, else undefined (the reader's answer stands). */
  const control = (name: string, context?: FlagContext): ControlValue | undefined => {
    const entry = controls.get(name);
    if (!entry) return undefined;
    const state = reader.state(name, context);
    if (state === 'unknown') return entry.value === LOOSEST[entry.kind] ? undefined : entry.value;
    const seen = observed(entry.kind, state, reader.variant(name, context));
    return stricterOf(entry.kind, seen, entry.value) === seen ? undefined : entry.value;
  };
  return {
    state(name, context) {
      if (!controls.caughtUp()) return 'unknown';
      const c = control(name, context);
      if (c === undefined) return reader.state(name, context);
      return c === 'off' ? 'off' : 'on';
    },
    variant(name, context) {
      if (!controls.caughtUp()) return undefined;
      const c = control(name, context);
      if (c === undefined) return reader.variant(name, context);
      return c === 'off' || c === 'on' ? undefined : c;
    },
    ready: (timeoutMs) => reader.ready(timeoutMs),
    loaded: () => reader.loaded() && controls.caughtUp(),
    notLoadedReason: () => (controls.caughtUp() ? reader.notLoadedReason() : (reader.notLoadedReason() ?? NOT_READ)),
    close: () => reader.close(),
  };
}
