import { REFUSALS_REPORTED_PER_MINUTE, refusalReporter, SignInRefusal } from './identity-provider';

// real: the reporter and its budget; fake: the clock (moved by hand).
describe('refused sign-ins reported for the audit', () => {
  const refusal = (user: string): SignInRefusal => ({
    status: 401,
    path: '/interaction/x/login',
    reason: 'sign-in refused: wrong user name or password',
    user,
  });

  it('reports each within the budget, and says in the next minute how many were left out', () => {
    let now = 0;
    const reported: SignInRefusal[] = [];
    const report = refusalReporter(
      (r) => reported.push(r),
      () => now,
    );
    for (let i = 0; i < REFUSALS_REPORTED_PER_MINUTE + 5; i++) report(refusal(`guess-${i}`));
    expect(reported).toHaveLength(REFUSALS_REPORTED_PER_MINUTE);
    expect(reported[0]).toEqual(refusal('guess-0'));
    now = 60_000;
    report(refusal('alice'));
    expect(reported[REFUSALS_REPORTED_PER_MINUTE]).toEqual({
      ...refusal('alice'),
      reason: `sign-in refused: wrong user name or password (and 5 more refused sign-ins before it, over the audit budget of ${REFUSALS_REPORTED_PER_MINUTE} a minute)`,
    });
    report(refusal('bob'));
    expect(reported[REFUSALS_REPORTED_PER_MINUTE + 1]).toEqual(refusal('bob'));
  });

  it('answers the person signing in whatever the reporting does', () => {
    const report = refusalReporter(
      () => {
        throw new Error('the bus is down');
      },
      () => 0,
    );
    expect(() => report(refusal('alice'))).not.toThrow();
  });
});
