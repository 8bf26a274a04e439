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

    it('keeps actions apart and knows no unknown action', async () => {
      const repo = await make();
      await repo.record('a1', entry('e1'));
      expect(await repo.timeline('a2')).toEqual([]);
    });
  });
}
