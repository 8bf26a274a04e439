import { ActionViewRepository, TimelineEntry } from './action-view.repository';

const entry = (eventId: string, status: TimelineEntry['status'] = 'proposed'): TimelineEntry => ({
  eventId,
  type: 't',
  time: '2026-11-24T10:00:00.000Z',
  status,
  actor: 'a',
  detail: 'd',
});

/** The read-model contract: the PostgreSQL repository and its in-memory twin both pass it. */
export function actionViewSuite(name: string, make: () => Promise<ActionViewRepository>) {
  describe(`ActionViewRepository shared suite: ${name}`, () => {
    it('keeps one entry per event id, whatever the redelivery', async () => {
      const repo = await make();
      await repo.record('a1', entry('e1'));
      await repo.record('a1', { ...entry('e1'), detail: 'changed on redelivery' });
      await repo.record('a1', entry('e2', 'executed'));
      const timeline = await repo.timeline('a1');
      expect(timeline).toHaveLength(2);
      expect(timeline.find((e) => e.eventId === 'e1')!.detail).toBe('d');
    });

    it("keeps every entry recorded at once, and each action's entries in the order they were recorded", async () => {
      const repo = await make();
      // Event ids that sort against the order they are recorded in: the timeline's order must be the recording's.
      const ids = ['z', 'y', 'x'];
      const writes: Array<Promise<void>> = [];
      for (let a = 0; a < 20; a++) for (const id of ids) writes.push(repo.record(`b${a}`, entry(`b${a}-${id}`)));
      writes.push(repo.record('b0', { ...entry('b0-z'), detail: 'a redelivery in the same burst' }));
      await Promise.all(writes);
      for (let a = 0; a < 20; a++) expect((await repo.timeline(`b${a}`)).map((e) => e.eventId)).toEqual(ids.map((id) => `b${a}-${id}`));
      expect((await repo.timeline('b0'))[0].detail).toBe('d');
    });

    it('gives back every field of an entry as recorded: the lane and the codes a program reads', async () => {
      const repo = await make();
      const prohibited: TimelineEntry = { ...entry('c1', 'prohibited'), lane: 'prohibited', reasonCode: 'trust-stack:unknown', retryLater: true };
      const revised: TimelineEntry = { ...entry('c2', 'revised'), revisedTo: 'a9', proposer: 'support-copilot' };
      await repo.record('c', prohibited);
      await repo.record('c', revised);
      expect(await repo.timeline('c')).toEqual([prohibited, revised]);
    });

    it('keeps actions apart and knows no unknown action', async () => {
      const repo = await make();
      await repo.record('a1', entry('e1'));
      expect(await repo.timeline('a2')).toEqual([]);
    });
  });
}
