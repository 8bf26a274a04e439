import type { ControlKind, ControlValue } from '@countersign/flags';

/** The kinds of flag server a `FlagAdmin` writes to. */
export type FlagStore = 'unleash' | 'flag-file' | 'in-memory';

/** A change to a flag made on the flag server by anyone (Countersign included), as its event log shows it. */
export interface FlagChange {
  /** The server's event id: increasing. */
  id: number;
  flag: string;
  type: string;
  createdBy?: string;
}

/**
 * The flag server's write side: what Countersign applies kill switches and autonomy levels through, and
 * where it watches for changes made outside it. Unleash's admin API in production
 * (`unleash-flag-admin.ts`); an in-process twin for the embedded mode and unit tests.
 */
export interface FlagAdmin {
  /** Which flag server this is, as answers name it: Unleash, the embedded mode's flag file, or the in-process twin. */
  readonly store: FlagStore;
  /**
   * The flag's value as the server holds it now: a control value, `unknown` when it cannot be read as one
   * value (an unknown variant, or several variants splitting the traffic), undefined when there is no flag.
   */
  read(flag: string, kind: ControlKind): Promise<string | undefined>;
  /** Sets the flag to `value` (creating it if needed): `off` disables it, a level becomes its only variant. */
  write(flag: string, kind: ControlKind, value: ControlValue): Promise<void>;
  /**
   * Changes not read up to `cursor`, oldest first, of flags `wanted` accepts, and the cursor to ask from next.
   * Without a cursor: no changes, only the current cursor (where watching starts). Asking again from the same
   * cursor answers the same changes (and any made since): a watcher keeps a cursor only once it has acted on them.
   */
  changesSince(cursor: FlagCursor | undefined, wanted: (flag: string) => boolean): Promise<FlagChanges>;
  /**
   * The flag's latest changes, oldest first, at most `limit`: whom to name when a difference is found that no change
   * read since the cursor explains (it was made before watching began, or while the log could not be read whole).
   */
  history(flag: string, limit: number): Promise<FlagChange[]>;
}

/** Where reading a flag server's changes goes on from: opaque, each admin's own. */
export type FlagCursor = string;

export interface FlagChanges {
  cursor: FlagCursor;
  changes: FlagChange[];
  /**
   * False when the server's log could not be read back to the cursor (more changes since than one read takes): some
   * changes may be missing, so a watcher compares every flag it governs instead of the changed ones only.
   */
  complete: boolean;
}

/**
 * The value of a flag from what the server holds: disabled is `off`; an enabled kill switch is `on`; an
 * enabled autonomy flag is its strategies' one pickable variant (none: `unknown`, as the policy engine reads it).
 * Several different variants, or one that names no level, read `unknown`: a doubt the watcher fails closed on.
 */
export function valueOf(kind: ControlKind, enabled: boolean, variants: string[]): string {
  if (!enabled) return 'off';
  if (kind === 'kill-switch') return 'on';
  const distinct = [...new Set(variants)];
  // Enabled with no variant to pick (none, or only zero weights): the level cannot be read, as autonomyLevel reads it.
  if (distinct.length === 0) return 'unknown';
  if (distinct.length > 1) return 'unknown';
  return ['review-all', 'review-risky', 'autonomous'].includes(distinct[0]) ? distinct[0] : 'unknown';
}
