import type { ControlKind, ControlValue } from '@countersign/flags';
import { FlagAdmin, FlagChange, FlagChanges, FlagCursor, valueOf } from './flag-admin';

interface HeldFlag {
  enabled: boolean;
  variants: string[];
}

/**
 * The in-process twin of the Unleash admin API: flags and an event log in memory. Every write is an event,
 * as on the server; `onWrite` lets a host mirror the flags where its reader reads them.
 */
export class InMemoryFlagAdmin implements FlagAdmin {
  readonly store = 'in-memory' as const;
  private readonly flags = new Map<string, HeldFlag>();
  private readonly events: FlagChange[] = [];

  constructor(private readonly onWrite?: (flags: ReadonlyMap<string, HeldFlag>) => void) {}

  async read(flag: string, kind: ControlKind): Promise<string | undefined> {
    const f = this.flags.get(flag);
    return f && valueOf(kind, f.enabled, f.variants);
  }

  /** What the flag holds now, synchronously: a reader over the twin (tests) reads this. */
  peek(flag: string): { enabled: boolean; variants: string[] } | undefined {
    const f = this.flags.get(flag);
    return f && { enabled: f.enabled, variants: [...f.variants] };
  }

  async write(flag: string, kind: ControlKind, value: ControlValue, by = 'countersign'): Promise<void> {
    const held = this.flags.get(flag) ?? { enabled: false, variants: [] };
    const next = { enabled: value !== 'off', variants: kind === 'autonomy' && value !== 'off' ? [value] : held.variants };
    this.flags.set(flag, next);
    this.events.push({ id: this.events.length + 1, flag, type: next.enabled ? 'feature-environment-enabled' : 'feature-environment-disabled', createdBy: by });
    this.onWrite?.(this.flags);
  }

  async changesSince(cursor: FlagCursor | undefined, wanted: (flag: string) => boolean): Promise<FlagChanges> {
    const newest = String(this.events.length);
    if (cursor === undefined) return { cursor: newest, changes: [], complete: true };
    const after = Number(cursor);
    return { cursor: newest, changes: this.events.filter((e) => e.id > after && wanted(e.flag)).map((e) => ({ ...e })), complete: true };
  }

  async history(flag: string, limit: number): Promise<FlagChange[]> {
    return this.events
      .filter((e) => e.flag === flag)
      .slice(-limit)
      .map((e) => ({ ...e }));
  }
}

export const createInMemoryFlagAdmin = (onWrite?: ConstructorParameters<typeof InMemoryFlagAdmin>[0]): InMemoryFlagAdmin => new InMemoryFlagAdmin(onWrite);
