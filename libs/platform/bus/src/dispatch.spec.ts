import { deliverBatch, RawMessage, Semaphore } from './dispatch';

const msg = (offset: number, key: string): RawMessage => ({ topic: 't', partition: 0, offset: String(offset), key, value: null });

describe('deliverBatch', () => {
  it('reports the handled prefix as it grows, and only that prefix when a delivery is interrupted', async () => {
    // a: 0, 2 — b: 1, 3 — c: 4. The test finishes each delivery by hand; key b is interrupted at offset 3.
    const batch = [msg(0, 'a'), msg(1, 'b'), msg(2, 'a'), msg(3, 'b'), msg(4, 'c')];
    const finish = new Map<string, { resolve: () => void; reject: (e: Error) => void }>();
    const done: string[] = [];
    const started: string[] = [];
    const run = deliverBatch(
      batch,
      new Semaphore(8),
      (m) =>
        new Promise<void>((resolve, reject) => {
          started.push(m.offset);
          finish.set(m.offset, { resolve, reject });
        }),
      (offset) => done.push(offset),
    );
    const settle = () => new Promise((r) => setImmediate(r));
    await settle();
    // One delivery per key at a time: 0, 1 and 4 run; 2 waits for 0, 3 for 1.
    expect(started).toEqual(['0', '1', '4']);
    finish.get('0')!.resolve();
    await settle();
    expect(done).toEqual(['0']);
    finish.get('4')!.resolve();
    finish.get('2')!.resolve();
    await settle();
    expect(done).toEqual(['0']); // 1 is still running: nothing past it counts as handled
    finish.get('1')!.resolve();
    await settle();
    expect(done).toEqual(['0', '2']); // 0, 1, 2 handled; 3 running
    finish.get('3')!.reject(new Error('subscription closed during delivery'));
    await expect(run).rejects.toThrow('subscription closed');
    expect(done).toEqual(['0', '2']);
  });

  it('keeps one key in order and runs at most as many keys at once as it has slots', async () => {
    let running = 0;
    let peak = 0;
    const order: string[] = [];
    const batch = Array.from({ length: 12 }, (_, i) => msg(i, `k${i % 4}`));
    await deliverBatch(batch, new Semaphore(2), async (m) => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 2));
      order.push(`${m.key}:${m.offset}`);
      running--;
    });
    expect(peak).toBe(2);
    for (let k = 0; k < 4; k++) {
      const offsets = order.filter((o) => o.startsWith(`k${k}:`)).map((o) => Number(o.split(':')[1]));
      expect(offsets).toEqual([k, k + 4, k + 8]);
    }
  });
});
