import { deliverBatch, RawMessage, Semaphore } from './dispatch';

const msg = (offset: number, key: string): RawMessage => ({ topic: 't', partition: 0, offset: String(offset), key, value: null });

describe('deliverBatch', () => {
  it('reports the handled prefix as it grows, and only that prefix when a delivery is interrupted', async () => {
    // a: 0, 2 — b: 1, 3 — c: 4. Key b is interrupted at its second message (offset 3).
    const batch = [msg(0, 'a'), msg(1, 'b'), msg(2, 'a'), msg(3, 'b'), msg(4, 'c')];
    const done: string[] = [];
    const handled: string[] = [];
    const run = deliverBatch(
      batch,
      new Semaphore(8),
      async (m) => {
        if (m.offset === '3') throw new Error('subscription closed during delivery');
        await new Promise((r) => setTimeout(r, m.offset === '1' ? 20 : 1));
        handled.push(m.offset);
      },
      (offset) => done.push(offset),
    );
    await expect(run).rejects.toThrow('subscription closed');
    // Offset 1 finished after 0 and 2: the prefix jumped from 0 to 2, and never past the unfinished 3.
    expect(done).toEqual(['0', '2']);
    expect(handled).toEqual(expect.arrayContaining(['0', '1', '2']));
    expect(handled).not.toContain('3');
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
