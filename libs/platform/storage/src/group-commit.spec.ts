import { GroupCommit } from './group-commit';

// real: GroupCommit; fake: the write (records the batches it is given, and commits when the test says so).

interface Req {
  key: string;
  value: number;
}

/** A write the test controls: each call is recorded and commits (resolves) only when `commit` is called. */
function controlledWrite(fail?: (r: Req) => boolean) {
  const calls: Array<{ batch: Req[]; commit: () => void; committed: boolean }> = [];
  const write = (batch: Req[]) =>
    new Promise<string[]>((resolve, reject) => {
      const call = {
        batch,
        committed: false,
        commit: () => {
          call.committed = true;
          if (fail && batch.some(fail)) reject(new Error(`constraint violated in a batch of ${batch.length}`));
          else resolve(batch.map((r) => `${r.key}=${r.value}`));
        },
      };
      calls.push(call);
    });
  return { calls, write };
}

/** Waits (a few event-loop turns at most) until `cond` holds; fails the test otherwise. */
async function until(cond: () => boolean) {
  for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

const settled = <T>(p: Promise<T>) => {
  const s: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (value) => Object.assign(s, { done: true, value }),
    (error) => Object.assign(s, { done: true, error }),
  );
  return s;
};

describe('GroupCommit', () => {
  it('writes the requests of one moment as one batch and gives each caller its own result', async () => {
    const { calls, write } = controlledWrite();
    const group = new GroupCommit<Req, string>(write, (r) => r.key);
    const results = Array.from({ length: 10 }, (_, i) => group.submit({ key: `k${i}`, value: i }));
    await until(() => calls.length === 1);
    expect(calls[0].batch.map((r) => r.key)).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`));
    calls[0].commit();
    expect(await Promise.all(results)).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}=${i}`));
  });

  it('hands a batch over in key order (every batch locks its rows in one order), each caller still given its own result', async () => {
    const { calls, write } = controlledWrite();
    const group = new GroupCommit<Req, string>(write, (r) => r.key);
    const keys = ['m', 'b', 'z', 'a'];
    const results = keys.map((key, i) => group.submit({ key, value: i }));
    await until(() => calls.length === 1);
    expect(calls[0].batch.map((r) => r.key)).toEqual(['a', 'b', 'm', 'z']);
    calls[0].commit();
    expect(await Promise.all(results)).toEqual(['m=0', 'b=1', 'z=2', 'a=3']);
  });

  it('resolves no caller before its batch is committed (durable before the answer)', async () => {
    const { calls, write } = controlledWrite();
    const group = new GroupCommit<Req, string>(write, (r) => r.key);
    const a = settled(group.submit({ key: 'a', value: 1 }));
    await until(() => calls.length === 1);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(a.done).toBe(false);
    calls[0].commit();
    await until(() => a.done);
    expect(a.value).toBe('a=1');
  });

  it('collects the next batch while one is being written, and writes it once that one committed', async () => {
    const { calls, write } = controlledWrite();
    const group = new GroupCommit<Req, string>(write, (r) => r.key);
    const first = group.submit({ key: 'a', value: 1 });
    await until(() => calls.length === 1);
    const later = [group.submit({ key: 'b', value: 2 }), group.submit({ key: 'c', value: 3 })];
    await new Promise((r) => setImmediate(r));
    expect(calls).toHaveLength(1);
    expect(group.waiting).toBe(2);
    calls[0].commit();
    await first;
    await until(() => calls.length === 2);
    expect(calls[1].batch.map((r) => r.key)).toEqual(['b', 'c']);
    calls[1].commit();
    expect(await Promise.all(later)).toEqual(['b=2', 'c=3']);
  });

  it('never puts two requests of one key in one batch, and writes them in the order they came', async () => {
    const { calls, write } = controlledWrite();
    const group = new GroupCommit<Req, string>(write, (r) => r.key);
    const results = [
      group.submit({ key: 'x', value: 1 }),
      group.submit({ key: 'y', value: 1 }),
      group.submit({ key: 'x', value: 2 }),
      group.submit({ key: 'x', value: 3 }),
    ];
    await until(() => calls.length === 1);
    expect(calls[0].batch).toEqual([
      { key: 'x', value: 1 },
      { key: 'y', value: 1 },
    ]);
    calls[0].commit();
    await until(() => calls.length === 2);
    expect(calls[1].batch).toEqual([{ key: 'x', value: 2 }]);
    calls[1].commit();
    await until(() => calls.length === 3);
    expect(calls[2].batch).toEqual([{ key: 'x', value: 3 }]);
    calls[2].commit();
    expect(await Promise.all(results)).toEqual(['x=1', 'y=1', 'x=2', 'x=3']);
  });

  it('keeps batches in flight on distinct keys: a key being written waits, other keys go ahead', async () => {
    const { calls, write } = controlledWrite();
    const group = new GroupCommit<Req, string>(write, (r) => r.key, { maxBatch: 10, maxInFlight: 2 });
    const a1 = group.submit({ key: 'a', value: 1 });
    await until(() => calls.length === 1);
    const a2 = settled(group.submit({ key: 'a', value: 2 }));
    const b = group.submit({ key: 'b', value: 1 });
    await until(() => calls.length === 2);
    expect(calls[1].batch).toEqual([{ key: 'b', value: 1 }]);
    calls[1].commit();
    expect(await b).toBe('b=1');
    expect(a2.done).toBe(false);
    calls[0].commit();
    expect(await a1).toBe('a=1');
    await until(() => calls.length === 3);
    expect(calls[2].batch).toEqual([{ key: 'a', value: 2 }]);
    calls[2].commit();
    await until(() => a2.done);
    expect(a2.value).toBe('a=2');
  });

  it('caps a batch at maxBatch', async () => {
    const { calls, write } = controlledWrite();
    const group = new GroupCommit<Req, string>(write, (r) => r.key, { maxBatch: 3, maxInFlight: 1 });
    const results = Array.from({ length: 7 }, (_, i) => group.submit({ key: `k${i}`, value: i }));
    for (let n = 1; n <= 3; n++) {
      await until(() => calls.length === n);
      calls[n - 1].commit();
    }
    await Promise.all(results);
    expect(calls.map((c) => c.batch.length)).toEqual([3, 3, 1]);
  });

  it('does not fail the others when one request fails: the batch is written again one by one', async () => {
    const { calls, write } = controlledWrite((r) => r.key === 'bad');
    const group = new GroupCommit<Req, string>(write, (r) => r.key);
    const results = ['a', 'bad', 'c'].map((key) => settled(group.submit({ key, value: 1 })));
    await until(() => calls.length === 1);
    calls[0].commit();
    // Then each on its own, in order.
    for (let n = 2; n <= 4; n++) {
      await until(() => calls.length === n);
      expect(calls[n - 1].batch).toEqual([{ key: ['a', 'bad', 'c'][n - 2], value: 1 }]);
      calls[n - 1].commit();
    }
    await until(() => results.every((r) => r.done));
    expect(results[0].value).toBe('a=1');
    expect((results[1].error as Error).message).toBe('constraint violated in a batch of 1');
    expect(results[2].value).toBe('c=1');
  });

  it('rejects every caller whose write fails on its own too (the store is down)', async () => {
    const group = new GroupCommit<Req, string>(
      async () => {
        throw new Error('connection refused');
      },
      (r) => r.key,
    );
    const results = await Promise.allSettled(['a', 'b'].map((key) => group.submit({ key, value: 1 })));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    // And it keeps working once the store is back: nothing stuck in flight.
    expect(group.waiting).toBe(0);
  });

  it('refuses a write that returns the wrong number of results (fails closed)', async () => {
    const group = new GroupCommit<Req, string>(
      async () => ['only one'],
      (r) => r.key,
    );
    const results = await Promise.allSettled([group.submit({ key: 'a', value: 1 }), group.submit({ key: 'b', value: 1 })]);
    // The batch of two is refused, then each alone returns one result for one input: accepted.
    expect(results).toEqual([
      { status: 'fulfilled', value: 'only one' },
      { status: 'fulfilled', value: 'only one' },
    ]);
    const alone = new GroupCommit<Req, string>(
      async () => [],
      (r) => r.key,
    );
    await expect(alone.submit({ key: 'a', value: 1 })).rejects.toThrow('a batch of 1 writes returned 0 results');
  });
});
