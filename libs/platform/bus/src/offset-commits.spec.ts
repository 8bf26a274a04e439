import pino from 'pino';
import { OffsetCommits } from './offset-commits';

type Offsets = { topic: string; partition: number; offset: string }[];

/** Made before any test fakes the timers: a logger made under fake timers leaves a tick of its own pending in a Jest worker. */
const silent = pino({ level: 'silent' });

/** An `OffsetCommits` whose interval never fires within a test (flushed by hand), and what it committed. */
function committer() {
  const commits: Offsets[] = [];
  const c = new OffsetCommits(async (o) => void commits.push(o), silent, 'g', 3_600_000);
  return { c, commits };
}

describe('OffsetCommits (a group commits what it handled in the background)', () => {
  it('commits the next offset to read of each partition, the latest handled one only, once', async () => {
    const { c, commits } = committer();
    c.handled('t', 0, '4');
    c.handled('t', 0, '9');
    c.handled('t', 1, '0');
    c.handled('u', 0, '99999999999999999');
    await c.flush();
    expect(commits).toEqual([
      [
        { topic: 't', partition: 0, offset: '10' },
        { topic: 't', partition: 1, offset: '1' },
        { topic: 'u', partition: 0, offset: '100000000000000000' },
      ],
    ]);
    await c.flush();
    expect(commits).toHaveLength(1); // nothing new: no request
    await c.stop();
  });

  it('notes a failed commit again, unless a later offset of the partition was handled meanwhile', async () => {
    let release!: () => void;
    let failing = true;
    const commits: Offsets[] = [];
    const c = new OffsetCommits(
      async (o) => {
        if (failing) {
          await new Promise<void>((r) => (release = r));
          throw new Error('rebalancing');
        }
        commits.push(o);
      },
      silent,
      'g',
      3_600_000,
    );
    c.handled('t', 0, '4');
    c.handled('t', 1, '7');
    const failed = c.flush();
    await new Promise((r) => setImmediate(r));
    c.handled('t', 1, '8'); // while the commit of 5 and 8 is under way
    release();
    await failed;
    expect(commits).toEqual([]);
    failing = false;
    await c.flush();
    expect(commits).toEqual([
      [
        { topic: 't', partition: 1, offset: '9' },
        { topic: 't', partition: 0, offset: '5' },
      ],
    ]);
    await c.stop();
  });

  it('forgets the partitions a rebalance gave to another member, and commits what is left when stopped', async () => {
    const { c, commits } = committer();
    c.handled('t', 0, '1');
    c.handled('t', 1, '2');
    c.handled('u', 0, '3');
    c.retain({ t: [1], v: [0] });
    await c.stop();
    expect(commits).toEqual([[{ topic: 't', partition: 1, offset: '3' }]]);
  });

  it('commits one after another: a flush waits for the commit under way, and later flushes join it', async () => {
    const order: string[] = [];
    let release!: () => void;
    const c = new OffsetCommits(
      async (o) => {
        order.push(`start ${o[0].offset}`);
        if (o[0].offset === '1') await new Promise<void>((r) => (release = r));
        order.push(`end ${o[0].offset}`);
      },
      silent,
      'g',
      3_600_000,
    );
    c.handled('t', 0, '0');
    const one = c.flush();
    await new Promise((r) => setImmediate(r));
    c.handled('t', 0, '1');
    const two = c.flush();
    await new Promise((r) => setImmediate(r));
    // The first commit (offset 0 handled: 1 is next) is under way; the second waits for it, and a third flush (the
    // broker slow: the interval fires again) joins the one waiting instead of queueing a commit of its own.
    expect(order).toEqual(['start 1']);
    c.handled('t', 0, '2');
    const three = c.flush();
    expect(three).toBe(two);
    release();
    await Promise.all([one, two]);
    expect(order).toEqual(['start 1', 'end 1', 'start 3', 'end 3']);
    await c.stop();
    expect(order).toHaveLength(4);
  });

  describe('its timer', () => {
    // Only timers are faked (not ticks or microtasks): the count is of timers armed.
    beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'] }));
    afterEach(() => jest.useRealTimers());

    it('is armed only while something handled waits for its commit, and commits it within the interval', async () => {
      const commits: Offsets[] = [];
      const c = new OffsetCommits(async (o) => void commits.push(o), silent, 'g', 100);
      // Idle: nothing armed, so an idle group never wakes its process.
      expect(jest.getTimerCount()).toBe(0);
      c.handled('t', 0, '1');
      c.handled('t', 0, '2'); // the same commit: no second timer
      expect(jest.getTimerCount()).toBe(1);
      await jest.advanceTimersByTimeAsync(99);
      expect(commits).toEqual([]);
      await jest.advanceTimersByTimeAsync(1);
      expect(commits).toEqual([[{ topic: 't', partition: 0, offset: '3' }]]);
      expect(jest.getTimerCount()).toBe(0);
      // Idle again for a long while: no timer fires, nothing is sent.
      await jest.advanceTimersByTimeAsync(10_000);
      expect(commits).toHaveLength(1);
      c.handled('t', 1, '0');
      await jest.advanceTimersByTimeAsync(100);
      expect(commits[1]).toEqual([{ topic: 't', partition: 1, offset: '1' }]);
      await c.stop();
    });

    it('is armed again when a commit fails, so the offsets go at the next interval without a new event', async () => {
      let failing = true;
      const commits: Offsets[] = [];
      const c = new OffsetCommits(
        async (o) => {
          if (failing) throw new Error('the coordinator moved');
          commits.push(o);
        },
        silent,
        'g',
        100,
      );
      c.handled('t', 0, '4');
      await jest.advanceTimersByTimeAsync(100);
      expect(commits).toEqual([]);
      expect(jest.getTimerCount()).toBe(1);
      failing = false;
      await jest.advanceTimersByTimeAsync(100);
      expect(commits).toEqual([[{ topic: 't', partition: 0, offset: '5' }]]);
      expect(jest.getTimerCount()).toBe(0);
      await c.stop();
    });

    it('is not armed once stopped: what is handled after `stop` waits for no timer (the consumer is gone)', async () => {
      const commits: Offsets[] = [];
      const c = new OffsetCommits(async (o) => void commits.push(o), silent, 'g', 100);
      c.handled('t', 0, '1');
      await c.stop();
      expect(commits).toEqual([[{ topic: 't', partition: 0, offset: '2' }]]);
      c.handled('t', 0, '2');
      expect(jest.getTimerCount()).toBe(0);
    });
  });
});
