// real: the request windows and the work queue; fake: the clock, and the queued tasks (promises the test settles).
import { RequestWindows, WorkQueue } from './request-limits';

describe('the identity provider’s request limits', () => {
  it('allows `limit` requests per key and window, then says how long until the window is over', () => {
    let now = 0;
    const windows = new RequestWindows(2, 60_000, 100, () => now);
    expect([windows.take('a'), windows.take('a')]).toEqual([undefined, undefined]);
    now = 15_000;
    expect(windows.take('a')).toBe(45_000);
    expect(windows.take('b')).toBeUndefined();
    now = 60_000;
    expect(windows.take('a')).toBeUndefined();
  });

  it('tracks at most maxTracked keys (the window started longest ago goes first)', () => {
    const windows = new RequestWindows(1, 60_000, 3, () => 0);
    for (let i = 0; i < 1_000; i++) windows.take(`10.0.${i >> 8}.${i & 255}`);
    expect(windows.tracked).toBe(3);
  });

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
