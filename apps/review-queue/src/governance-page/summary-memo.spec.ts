import { SummaryMemo } from './summary-memo';

function setUp(ttlMs = 10_000) {
  let now = 1_000_000;
  let generation = 0;
  let queries = 0;
  const pending: Array<{ resolve: (v: number) => void; reject: (e: Error) => void }> = [];
  const memo = new SummaryMemo<number>(
    ttlMs,
    () => generation,
    () => now,
  );
  const load = () =>
    memo.get(() => {
      queries++;
      return new Promise<number>((resolve, reject) => pending.push({ resolve, reject }));
    });
  return {
    load,
    pending,
    queries: () => queries,
    advance: (ms: number) => (now += ms),
    decide: () => generation++,
  };
}

describe('SummaryMemo (the governance page summary)', () => {
  it('loads that come while one is summed wait for that one', async () => {
    const m = setUp();
    const [a, b, c] = [m.load(), m.load(), m.load()];
    expect(m.queries()).toBe(1);
    m.pending[0].resolve(7);
    expect(await Promise.all([a, b, c])).toEqual([7, 7, 7]);
  });

  it('keeps a summary for its time at most', async () => {
    const m = setUp(10_000);
    const first = m.load();
    m.pending[0].resolve(1);
    await first;
    m.advance(9_999);
    expect(await m.load()).toBe(1);
    expect(m.queries()).toBe(1);
    m.advance(1);
    void m.load();
    expect(m.queries()).toBe(2);
  });

  it('a decision recorded since the summary was asked for makes the next load ask again, even one recorded while it was summed', async () => {
    const m = setUp();
    const first = m.load();
    m.decide(); // recorded while the first summary was being summed: it may be missing from it
    m.pending[0].resolve(1);
    expect(await first).toBe(1);
    const second = m.load();
    expect(m.queries()).toBe(2);
    m.pending[1].resolve(2);
    expect(await second).toBe(2);
    expect(await m.load()).toBe(2);
    expect(m.queries()).toBe(2);
    m.decide();
    void m.load();
    expect(m.queries()).toBe(3);
  });

  it('a failed summary is not kept: the next load asks again', async () => {
    const m = setUp();
    const first = m.load();
    m.pending[0].reject(new Error('connection reset'));
    await expect(first).rejects.toThrow('connection reset');
    const second = m.load();
    expect(m.queries()).toBe(2);
    m.pending[1].resolve(3);
    expect(await second).toBe(3);
  });
});
