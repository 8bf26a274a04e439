import { sourceOf } from '@countersign/limits';
import { DEFAULT_REJECTION_BUDGET, RejectionBudget, RejectionBudgetOptions } from './rejection-budget';

// Real: RejectionBudget; fake: the clock (a number the test moves).
describe('RejectionBudget', () => {
  const seen = (status = 401, path = '/v1/proposals') => ({ method: 'POST', path, status, reason: 'missing bearer token' });
  const setup = (over: Partial<RejectionBudgetOptions> = {}) => {
    let t = 1_000_000;
    const budget = new RejectionBudget({ ...DEFAULT_REJECTION_BUDGET, burst: 3, perSecond: 1, maxSources: 2, ...over }, () => t);
    return { budget, advance: (ms: number) => (t += ms) };
  };

  it('audits a burst one by one, then counts; the counts come out once, as a summary with the last rejection', () => {
    const { budget, advance } = setup();
    const verdicts = Array.from({ length: 10 }, (_, i) => budget.take('10.0.0.1', seen(i % 2 ? 404 : 401, `/p${i}`)));
    expect(verdicts).toEqual([true, true, true, false, false, false, false, false, false, false]);
    const [summary, ...others] = budget.drain();
    expect(others).toEqual([]);
    expect(summary).toMatchObject({ source: '10.0.0.1', count: 7, statuses: { 401: 3, 404: 4 }, last: { path: '/p9', status: 404 } });
    expect(summary.since).toEqual(new Date(1_000_000));
    expect(budget.drain()).toEqual([]);
    // The budget refills with time: one more after a second.
    advance(1000);
    expect(budget.take('10.0.0.1', seen())).toBe(true);
    expect(budget.take('10.0.0.1', seen())).toBe(false);
  });

  it('keeps a budget per source, and at most maxSources of them: the rest share one', () => {
    const { budget } = setup();
    for (const source of ['a', 'b']) for (let i = 0; i < 3; i++) expect(budget.take(source, seen())).toBe(true);
    expect(budget.take('a', seen())).toBe(false);
    // A third and a fourth source share `*`.
    for (let i = 0; i < 3; i++) expect(budget.take(i % 2 ? 'c' : 'd', seen())).toBe(true);
    expect(budget.take('e', seen())).toBe(false);
    expect(budget.drain().map((s) => [s.source, s.count])).toEqual([
      ['a', 1],
      ['*', 1],
    ]);
  });

  it('forgets a source once its budget is full again, so the sources kept do not grow without bound', () => {
    const { budget, advance } = setup({ maxSources: 1 });
    budget.take('a', seen());
    advance(5000);
    expect(budget.drain()).toEqual([]);
    // `a` is gone: `b` gets a budget of its own rather than the shared one.
    for (let i = 0; i < 3; i++) expect(budget.take('b', seen())).toBe(true);
    expect(budget.take('b', seen())).toBe(false);
    expect(budget.drain().map((s) => s.source)).toEqual(['b']);
  });

  it('keeps one budget per IPv6 /64, and reads an IPv4-mapped address as its IPv4 address', () => {
    // Red team (2026-12-04): one host holds a whole /64; with a budget per address it had 2^64 of them.
    const { budget } = setup({ maxSources: 100 });
    const verdicts = ['2001:db8:1:2::1', '2001:db8:1:2::ffff', '2001:0db8:0001:0002:abcd:0:0:9', '2001:db8:1:2:ffff:ffff:ffff:ffff%eth0'].map((a) =>
      budget.take(a, seen()),
    );
    expect(verdicts).toEqual([true, true, true, false]);
    // Another /64 has its own budget; so does an IPv4 address, which a mapped address shares.
    expect(budget.take('2001:db8:1:3::1', seen())).toBe(true);
    for (let i = 0; i < 3; i++) expect(budget.take(i % 2 ? '::ffff:10.0.0.1' : '10.0.0.1', seen())).toBe(true);
    expect(budget.take('::ffff:a00:1', seen())).toBe(false);
    expect(budget.drain().map((s) => [s.source, s.count])).toEqual([
      ['2001:db8:1:2::/64', 1],
      ['10.0.0.1', 1],
    ]);
  });

  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::ffff:7f00:1', '127.0.0.1'],
    ['::1', '::/64'],
    ['fe80::1%lo0', 'fe80::/64'],
    ['2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff', '2001:db8:aaaa:bbbb::/64'],
    ['64:ff9b::192.0.2.1', '64:ff9b::/64'],
    ['unknown', 'unknown'],
  ])('sourceOf(%s) is %s', (address, source) => {
    expect(sourceOf(address)).toBe(source);
  });

  it('audits at most globalPerWindow rejections one by one across all sources in a window, then counts every source’s', () => {
    const { budget, advance } = setup({ maxSources: 1_000, globalPerWindow: 10, windowMs: 10_000 });
    // 50 sources, each within its own budget: only the first 10 rejections are audited one by one.
    const audited = Array.from({ length: 50 }, (_, i) => budget.take(`10.0.${i}.1`, seen())).filter(Boolean).length;
    expect(audited).toBe(10);
    // A source that had spent nothing is counted too while the window is full, and gets its turn in the next window.
    expect(budget.take('192.0.2.1', seen())).toBe(false);
    advance(10_000);
    expect(budget.take('192.0.2.1', seen())).toBe(true);
    expect(budget.drain().reduce((n, s) => n + s.count, 0)).toBe(41);
  });

  it('gives at most maxSummaries summaries per drain: the busiest sources by name, the rest as one', () => {
    const { budget } = setup({ maxSources: 1_000, globalPerWindow: 1_000, maxSummaries: 3 });
    // Source i is counted i times beyond its burst of 3; the last rejection of all is from source 1.
    for (let i = 1; i <= 6; i++) for (let n = 0; n < 3 + i; n++) budget.take(`2001:db8:0:${i}::1`, seen(n % 2 ? 404 : 401, `/s${i}`));
    budget.take('2001:db8:0:1::1', seen(429, '/last'));
    const summaries = budget.drain();
    expect(summaries.map((s) => [s.source, s.sources, s.count])).toEqual([
      ['2001:db8:0:6::/64', 1, 6],
      ['2001:db8:0:5::/64', 1, 5],
      // Sources 1 to 4 (1 + 2 + 3 + 4 counted), and the last one.
      ['*', 4, 1 + 2 + 3 + 4 + 1],
    ]);
    expect(summaries[2].statuses).toEqual({ 401: 4, 404: 6, 429: 1 });
    expect(summaries[2].last).toMatchObject({ path: '/last', status: 429 });
    expect(budget.drain()).toEqual([]);
  });

  it('bounds what a flood from many addresses writes to the audit, with the default budget', () => {
    // Red team (2026-12-04): 40 loopback addresses wrote 841 entries for 1,000 refusals. Here: 100,000 refusals from
    // 5,000 addresses of one /48 in one window.
    const { budget } = setup({ ...DEFAULT_REJECTION_BUDGET });
    let oneByOne = 0;
    for (let i = 0; i < 100_000; i++) if (budget.take(`2001:db8:7:${(i % 5_000).toString(16)}::${i.toString(16)}`, seen())) oneByOne++;
    const summaries = budget.drain();
    expect(oneByOne).toBe(DEFAULT_REJECTION_BUDGET.globalPerWindow);
    expect(summaries).toHaveLength(DEFAULT_REJECTION_BUDGET.maxSummaries);
    expect(oneByOne + summaries.reduce((n, s) => n + s.count, 0)).toBe(100_000);
  });
});
