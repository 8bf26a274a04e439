import type { PrincipalRoster } from './principal-roster';

/** The roster in memory (tests, and a twin of the PostgreSQL one: `principalRosterSuite`). */
export class InMemoryPrincipalRoster implements PrincipalRoster {
  /** Principal → when it was taken out of the file (undefined: in it). */
  private readonly roster = new Map<string, Date | undefined>();

  async reconcile(present: readonly string[], seen: readonly string[] = []): Promise<string[]> {
    const now = new Date();
    const inFile = new Set(present);
    for (const id of [...present, ...seen]) if (!this.roster.has(id)) this.roster.set(id, undefined);
    for (const [id, removedAt] of this.roster) this.roster.set(id, inFile.has(id) ? undefined : (removedAt ?? now));
    return [...this.roster].filter(([, removedAt]) => removedAt).map(([id]) => id);
  }
}
