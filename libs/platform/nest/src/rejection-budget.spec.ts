import { RejectionBudget } from './rejection-budget';

// Real: RejectionBudget; fake: the clock (a number the test moves).
describe('RejectionBudget', () => {
  const seen = (status = 401, path = '/v1/proposals') => ({ method: 'POST', path, status, reason: 'missing bearer token' });
  const setup = (options = { burst: 3, perSecond: 1, maxSources: 2 }) => {
    let t = 1_000_000;
    const budget = new RejectionBudget(options, () => t);
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
    const { budget, advance } = setup({ burst: 3, perSecond: 1, maxSources: 1 });
    budget.take('a', seen());
    advance(5000);
    expect(budget.drain()).toEqual([]);
    // `a` is gone: `b` gets a budget of its own rather than the shared one.
    for (let i = 0; i < 3; i++) expect(budget.take('b', seen())).toBe(true);
    expect(budget.take('b', seen())).toBe(false);
    expect(budget.drain().map((s) => s.source)).toEqual(['b']);
  });
});
