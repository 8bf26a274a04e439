import { renameSync, writeFileSync } from 'node:fs';
import type { ControlKind, ControlValue, FlagFile } from '@countersign/flags';
import { parseFlagFile, readFlagFile } from '@countersign/flags';
import { FlagAdmin, FlagChange, FlagChanges, FlagCursor, valueOf } from './flag-admin';

type Feature = FlagFile['features'][number];

type Variant = { name: string; weight?: number };
/** The variants that can be picked (a weight of 0 never is, so it names no level). */
const pickable = (variants: Variant[] | undefined): string[] =>
  (variants ?? []).filter((v) => v.weight === undefined || v.weight > 0).map((v) => String(v.name));
const variantsOf = (f: Feature): string[] => [
  ...pickable(f.variants as Variant[] | undefined),
  ...(f.strategies ?? []).flatMap((s) => pickable((s as { variants?: Variant[] }).variants)),
];

/**
 * The embedded mode's flag "server": the flag file the services read (`createFileFlagReader`). Writes replace the
 * file by write-then-rename (the reader's watch sees it at once). The file keeps no event log, so changes are
 * found by comparing each flag with how the previous look saw it: an edit by hand is a change like any other.
 */
export class FileFlagAdmin implements FlagAdmin {
  readonly store = 'flag-file' as const;
  private seq = 0;

  constructor(private readonly path: string) {}

  async read(flag: string, kind: ControlKind): Promise<string | undefined> {
    const f = this.file().features.find((x) => x.name === flag);
    return f && valueOf(kind, f.enabled, variantsOf(f));
  }

  async write(flag: string, kind: ControlKind, value: ControlValue): Promise<void> {
    const file = this.file();
    const held = file.features.find((x) => x.name === flag);
    const next: Feature = { ...(held ?? { name: flag }), enabled: value !== 'off' };
    if (kind === 'autonomy' && value !== 'off') {
      next.variants = [{ name: value, weight: 1000, stickiness: 'default', weightType: 'variable' }];
      delete next.strategies; // the reader adds the default strategy; strategy variants would override the flag's
    }
    const features = held ? file.features.map((x) => (x.name === flag ? next : x)) : [...file.features, next];
    const temp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify({ ...file, features }, null, 2));
    renameSync(temp, this.path);
  }

  /**
   * The cursor is how each flag looked (its JSON), so asking again from one answers the same changes. A change's id
   * counts up within this process only: the file keeps no log, and names nobody.
   */
  async changesSince(cursor: FlagCursor | undefined, wanted: (flag: string) => boolean): Promise<FlagChanges> {
    const now = new Map(this.file().features.map((f) => [f.name, JSON.stringify(f)]));
    const next = JSON.stringify([...now]);
    if (cursor === undefined) return { cursor: next, changes: [], complete: true };
    const seen = new Map(JSON.parse(cursor) as Array<[string, string]>);
    const changes: FlagChange[] = [];
    for (const name of new Set([...now.keys(), ...seen.keys()])) {
      if (now.get(name) === seen.get(name) || !wanted(name)) continue;
      changes.push({ id: ++this.seq, flag: name, type: now.has(name) ? 'flag-file-edited' : 'flag-file-removed' });
    }
    return { cursor: next, changes, complete: true };
  }

  /** The file keeps no history. */
  async history(): Promise<FlagChange[]> {
    return [];
  }

  private file(): FlagFile {
    return parseFlagFile(readFlagFile(this.path));
  }
}

export const createFileFlagAdmin = (path: string): FlagAdmin => new FileFlagAdmin(path);
