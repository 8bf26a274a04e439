// real: the work queue; fake: the queued tasks (promises the test settles).
import { WorkQueue } from './request-limits';

describe('the identity provider’s password-check queue', () => {
  it('runs at most `concurrency` tasks at once, queues `maxWaiting`, refuses the rest without running them (red team, H2)', async () => {
    const queue = new WorkQueue(2, 1);
    const ends: Array<() => void> = [];
    let running = 0;
    let most = 0;
    const task = () =>
      new Promise<string>((resolve) => {
        most = Math.max(most, ++running);
        ends.push(() => {
          running--;
          resolve('done');
        });
      });
    const accepted = [queue.run(task), queue.run(task), queue.run(task)];
    expect(queue.run(task)).toBeUndefined();
    expect(running).toBe(2);
    ends.shift()!();
    await accepted[0];
    // The waiting task took the freed slot; the queue has room again.
    await new Promise((r) => setImmediate(r));
    expect(running).toBe(2);
    expect(queue.run(task)).toBeDefined();
    while (ends.length) {
      ends.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    expect(await Promise.all(accepted)).toEqual(['done', 'done', 'done']);
    expect(most).toBe(2);
  });
});
