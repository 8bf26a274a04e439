import { proposeAgainReason } from './propose-again';

// real: the function an agent (and the fault harness's agent) asks before proposing again; fake: nothing.

describe('proposeAgainReason', () => {
  it('reads the backlog cap and a prohibition whose reason passes from the view’s codes', () => {
    expect(proposeAgainReason({ status: 'rejected', reasonCode: 'proposer_backlog_full' })).toBe('proposer_backlog_full');
    expect(proposeAgainReason({ status: 'rejected', reasonCode: 'tenant_backlog_full' })).toBe('tenant_backlog_full');
    expect(proposeAgainReason({ status: 'prohibited', reasonCode: 'trust-stack:unknown', retryLater: true })).toBe('trust-stack:unknown');
    expect(proposeAgainReason({ status: 'prohibited', retryLater: true })).toBe('retry-later');
  });

  it('answers undefined where the answer stands: a prohibition without the flag, a reviewer’s rejection, an expiry, a run', () => {
    expect(proposeAgainReason({ status: 'prohibited', reasonCode: 'kill-switch:off' })).toBeUndefined();
    expect(proposeAgainReason({ status: 'rejected' })).toBeUndefined();
    expect(proposeAgainReason({ status: 'expired', reasonCode: 'sla_expired' })).toBeUndefined();
    expect(proposeAgainReason({ status: 'executed' })).toBeUndefined();
    // A code on another status is not the cap's, and the flag is read only as `true` (a body parsed from JSON).
    expect(proposeAgainReason({ status: 'refused', reasonCode: 'proposer_backlog_full' })).toBeUndefined();
    expect(proposeAgainReason({ status: 'refused', reasonCode: 'tenant_backlog_full' })).toBeUndefined();
    expect(proposeAgainReason({ status: 'prohibited', retryLater: 'yes' } as never)).toBeUndefined();
  });
});
