import { PartitionLanes, RawMessage, Semaphore } from './dispatch';

const msg = (offset: number, key: string): RawMessage => ({ topic: 't', partition: 0, offset: String(offset), key, value: null });
const settle = () => new Promise((r) => setImmediate(r));

/** Lanes whose deliveries the test finishes by hand. */
function manual(slots = 8) {
  const finish = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
  const started: string[] = [];
  const done: string[] = [];
  const lanes = new PartitionLanes(
    new Semaphore(slots),
    (m) =>
      new Promise<void>((resolve, reject) => {
        started.push(m.offset);
        finish.set(m.offset, { resolve, reject });
      }),
    (offset) => done.push(offset),
  );
  return { lanes, finish, started, done };
}

describe('PartitionLanes (a batch is not a barrier)', () => {
  it('reports the handled prefix as it grows, across batches, and only that prefix when a delivery is interrupted', async () => {
    const { lanes, finish, started, done } = manual();
    // a: 0, 2 — b: 1, 3 — c: 4 (the second batch). Key b is interrupted at offset 3.
    for (const m of [msg(0, 'a'), msg(1, 'b'), msg(2, 'a')]) lanes.push(m);
    await settle();
    // One delivery per key at a time: 0 and 1 run; 2 waits for 0.
    expect(started).toEqual(['0', '1']);
    finish.get('0')!.resolve();
    await settle();
    expect(done).toEqual(['0']);
    // The next batch goes in while 1 still runs: its key c starts at once.
    for (const m of [msg(3, 'b'), msg(4, 'c')]) lanes.push(m);
    await settle();
    expect(started).toEqual(['0', '1', '2', '4']);
    finish.get('4')!.resolve();
    finish.get('2')!.resolve();
    await settle();
    expect(done).toEqual(['0']); // 1 is still running: nothing past it counts as handled
    finish.get('1')!.resolve();
    await settle();
    expect(done).toEqual(['0', '2']); // 0, 1, 2 handled; 3 running
    finish.get('3')!.reject(new Error('subscription closed during delivery'));
    await lanes.idle();
    expect(lanes.stopped).toBe(true);
    expect(done).toEqual(['0', '2']);
    // Stopped lanes take nothing more: the partition is read again from its prefix, by new lanes.
    lanes.push(msg(5, 'd'));
    await settle();
    expect(started).not.toContain('5');
  });

  it('stops what waits behind an interrupted delivery of its key, says so once, and says where to read again', async () => {
    const finish = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
    const started: string[] = [];
    let stops = 0;
    const lanes = new PartitionLanes(
      new Semaphore(8),
      (m) =>
        new Promise<void>((resolve, reject) => {
          started.push(m.offset);
          finish.set(m.offset, { resolve, reject });
        }),
      () => undefined,
      () => undefined,
      () => stops++,
    );
    for (const m of [msg(0, 'a'), msg(1, 'a'), msg(2, 'b'), msg(3, 'c')]) lanes.push(m);
    await settle();
    finish.get('2')!.resolve();
    finish.get('0')!.reject(new Error('closed'));
    finish.get('3')!.reject(new Error('closed'));
    await lanes.idle();
    expect(started).toEqual(['0', '2', '3']);
    expect(stops).toBe(1);
    expect(lanes.resumeFrom).toBe('0');
  });

  it('skips what it was given already (a fetch again from the committed offset), and counts the prefix over what it received', async () => {
    const { lanes, finish, started, done } = manual();
    // A compacted topic skips offsets: 0, 5, 9.
    for (const m of [msg(0, 'a'), msg(5, 'b'), msg(9, 'c')]) lanes.push(m);
    for (const m of [msg(0, 'a'), msg(5, 'b'), msg(9, 'c'), msg(10, 'd')]) lanes.push(m);
    await settle();
    expect(started).toEqual(['0', '5', '9', '10']);
    finish.get('5')!.resolve();
    finish.get('0')!.resolve();
    await settle();
    expect(done).toEqual(['5']);
    finish.get('10')!.resolve();
    finish.get('9')!.resolve();
    await lanes.idle();
    expect(done).toEqual(['5', '10']);
  });

  it('keeps one key in order and runs at most as many keys at once as it has slots', async () => {
    let running = 0;
    let peak = 0;
    const order: string[] = [];
    const lanes = new PartitionLanes(
      new Semaphore(2),
      async (m) => {
        peak = Math.max(peak, ++running);
        await new Promise((r) => setTimeout(r, 2));
        order.push(`${m.key}:${m.offset}`);
        running--;
      },
      () => undefined,
    );
    for (let i = 0; i < 12; i++) lanes.push(msg(i, `k${i % 4}`));
    await lanes.idle();
    expect(peak).toBe(2);
    for (let k = 0; k < 4; k++) {
      const offsets = order.filter((o) => o.startsWith(`k${k}:`)).map((o) => Number(o.split(':')[1]));
      expect(offsets).toEqual([k, k + 4, k + 8]);
    }
  });

  it('makes the fetch wait while more than the limit is outstanding', async () => {
    const { lanes, finish } = manual();
    for (let i = 0; i < 4; i++) lanes.push(msg(i, `k${i}`));
    let roomy = false;
    const room = lanes.room(2).then(() => (roomy = true));
    await settle();
    expect(roomy).toBe(false);
    finish.get('0')!.resolve();
    await settle();
    expect(roomy).toBe(false); // 3 outstanding
    finish.get('1')!.resolve();
    await room;
    expect(lanes.outstanding).toBe(2);
    finish.get('2')!.resolve();
    finish.get('3')!.resolve();
    await lanes.idle();
  });
});
