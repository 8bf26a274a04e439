import pino from 'pino';
import { TOPICS } from '@countersign/contracts';
import { DEFAULT_REJECTION_BUDGET, RejectionBudget } from '@countersign/nest';
import { RecordingBus } from '@countersign/testing';
import { signInRefusalAudit } from './local-identity';

// real: the audit of refused sign-ins, the project's rejection budget (docs/adr/0034), envelopes as the bus builds
// them; fake: the bus (records what it is given) and the budget's clock (stopped).
describe('refused sign-ins at the embedded identity provider', () => {
  const refusal = (user: string, source = '127.0.0.1') => ({
    status: 401 as const,
    method: 'POST',
    path: '/interaction/x/login',
    reason: 'sign-in refused: wrong user name or password',
    user,
    source,
  });

  it('audits each within the budget of its source, naming the user only when it is one, and summarises the rest', async () => {
    const bus = new RecordingBus({ source: 'countersign-embedded', logger: pino({ level: 'silent' }) });
    const audit = signInRefusalAudit(bus, pino({ level: 'silent' }), ['bob'], new RejectionBudget(DEFAULT_REJECTION_BUDGET, () => 0));
    audit.refused(refusal('bob'));
    audit.refused(refusal('hunter2'));
    for (let i = 0; i < DEFAULT_REJECTION_BUDGET.burst + 3; i++) audit.refused(refusal(`guess-${i}`));
    audit.refused(refusal('bob', '127.0.0.2')); // another source, its own budget
    audit.close();
    await new Promise((r) => setImmediate(r));
    const reasons = bus.published.filter((p) => p.topic === TOPICS.requestRejected).map((p) => p.event.data as { service: string; reason: string });
    expect(reasons.every((d) => d.service === 'identity-provider')).toBe(true);
    expect(reasons[0].reason).toBe('sign-in refused: wrong user name or password (user bob)');
    expect(reasons[1].reason).toBe('sign-in refused: wrong user name or password (a user name that is no user)');
    expect(JSON.stringify(reasons)).not.toContain('hunter2');
    // The burst audited one by one, the other source too, and the 5 over the budget as one summary at the close.
    expect(reasons).toHaveLength(DEFAULT_REJECTION_BUDGET.burst + 2);
    expect(reasons[reasons.length - 1].reason).toMatch(/^5 more unauthenticated requests from 127\.0\.0\.1 rejected since .*: sign-in refused/);
  });

  it('audits a page asked of no sign-in under way with its own method and status, and no user named', async () => {
    const bus = new RecordingBus({ source: 'countersign-embedded', logger: pino({ level: 'silent' }) });
    const audit = signInRefusalAudit(bus, pino({ level: 'silent' }), ['bob'], new RejectionBudget(DEFAULT_REJECTION_BUDGET, () => 0));
    audit.refused({
      status: 405,
      method: 'PUT',
      path: '/interaction/x/login',
      reason: 'sign-in refused: PUT is not allowed here',
      user: '',
      source: '127.0.0.1',
    });
    audit.close();
    await new Promise((r) => setImmediate(r));
    expect(bus.published.filter((p) => p.topic === TOPICS.requestRejected).map((p) => p.event.data)).toEqual([
      expect.objectContaining({
        service: 'identity-provider',
        method: 'PUT',
        status: 405,
        reason: 'sign-in refused: PUT is not allowed here (no user name given)',
        principal: null,
      }),
    ]);
  });
});
