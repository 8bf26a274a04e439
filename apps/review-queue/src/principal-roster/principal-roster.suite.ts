import type { PrincipalRoster } from './principal-roster';

/** What the suite is given: a roster over fresh storage, and another over the same storage (a restart). */
export interface RosterUnderTest {
  roster: PrincipalRoster;
  reopened(): PrincipalRoster;
}

const sorted = (ids: string[]) => [...ids].sort();

/** The behaviour every roster has, the in-memory twin's and PostgreSQL's alike. */
export function principalRosterSuite(name: string, make: () => Promise<RosterUnderTest>) {
  describe(`PrincipalRoster shared suite: ${name}`, () => {
    it('marks a principal that leaves the file removed, and keeps it so across a restart, until it is put back', async () => {
      const { roster, reopened } = await make();
      expect(await roster.reconcile(['alice', 'bob', 'support-copilot'])).toEqual([]);
      expect(sorted(await roster.reconcile(['alice', 'support-copilot']))).toEqual(['bob']);
      // The service restarts with the file as it is: bob is still out, and so is the agent taken out while it was stopped.
      const again = reopened();
      expect(sorted(await again.reconcile(['alice']))).toEqual(['bob', 'support-copilot']);
      expect(sorted(await again.reconcile(['alice']))).toEqual(['bob', 'support-copilot']);
      // Put back: no longer removed; taken out again later: removed again.
      expect(await again.reconcile(['alice', 'bob', 'support-copilot'])).toEqual([]);
      expect(await again.reconcile(['bob', 'support-copilot'])).toEqual(['alice']);
    });

    it('knows a principal added and taken out again between two records as removed', async () => {
      const { roster } = await make();
      await roster.reconcile(['alice']);
      // mallory was in the file for one reload the store did not take; the next record names her with the file as it is.
      expect(await roster.reconcile(['alice'], ['mallory'])).toEqual(['mallory']);
      expect(await roster.reconcile(['alice'], ['alice'])).toEqual(['mallory']);
    });

    it('treats a first record as the start of what it knows: nobody is removed by an empty file and a first list alike', async () => {
      const { roster } = await make();
      expect(await roster.reconcile([])).toEqual([]);
      expect(await roster.reconcile(['alice'])).toEqual([]);
      expect(await roster.reconcile([])).toEqual(['alice']);
    });
  });
}
