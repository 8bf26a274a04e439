import { generateSigningKey, signApproval, verifyKeysFromPem } from '@countersign/approval';
import { TOPICS } from '@countersign/contracts';
import type { ActionRecord, ReviewDecidedEvent } from '../execution/execution.repository';
import { checkApproval } from './approval-check';

const now = new Date('2026-11-24T10:00:00Z');
const digest = 'b'.repeat(64);
const { signing, publicKeyPem } = generateSigningKey('k1');
const keys = verifyKeysFromPem({ k1: publicKeyPem });

const token = (actionId: string, d = digest) =>
  signApproval(signing, { actionId, digest: d, approvers: ['alice'], reasons: ['ok'], issuedAt: now.toISOString(), expiresAt: new Date(now.getTime() + 60_000).toISOString() });

const event = (subject: string, approval?: string, d = digest): ReviewDecidedEvent => ({
  id: 'e1',
  type: TOPICS.reviewDecided,
  version: 1,
  source: 'review-queue',
  time: now.toISOString(),
  subject,
  correlationId: 'c1',
  causationId: 'd1',
  actor: { id: 'alice', kind: 'human' },
  data: { decision: 'approved', reviewers: [{ id: 'alice', kind: 'human' }], reason: 'ok', digest: d, ...(approval ? { approval } : {}) },
});

const record = (lane: ActionRecord['lane'] = 'review'): ActionRecord => ({
  actionId: 'a1',
  correlationId: 'c1',
  decisionEventId: 'd1',
  digest,
  lane,
  state: 'decided',
  proposal: {} as ActionRecord['proposal'],
});

describe('approval check', () => {
  it('accepts a signed approval of this action and digest', () => {
    expect(checkApproval(event('a1', token('a1')), record(), keys, now)).toMatchObject({ ok: true });
  });

  it('refuses an approval for another action id', () => {
    expect(checkApproval(event('a1', token('a2')), record(), keys, now)).toMatchObject({ ok: false, refusal: { code: 'approval-for-other-action' } });
  });

  it('refuses a digest mismatch, in the token or in the event', () => {
    expect(checkApproval(event('a1', token('a1', 'c'.repeat(64))), record(), keys, now)).toMatchObject({ ok: false, refusal: { code: 'digest-mismatch' } });
    expect(checkApproval(event('a1', token('a1'), 'c'.repeat(64)), record(), keys, now)).toMatchObject({ ok: false, refusal: { code: 'digest-mismatch' } });
  });

  it('refuses an approval of a prohibited or autonomous action', () => {
    expect(checkApproval(event('a1', token('a1')), record('prohibited'), keys, now)).toMatchObject({ ok: false, refusal: { code: 'not-authorised' } });
  });

  it('refuses a missing, forged or expired token', () => {
    expect(checkApproval(event('a1'), record(), keys, now)).toMatchObject({ ok: false, refusal: { code: 'invalid-approval' } });
    const forger = generateSigningKey('k1');
    const forged = signApproval(forger.signing, { actionId: 'a1', digest, approvers: ['mallory'], reasons: ['x'], issuedAt: now.toISOString(), expiresAt: new Date(now.getTime() + 60_000).toISOString() });
    expect(checkApproval(event('a1', forged), record(), keys, now)).toMatchObject({ ok: false, refusal: { code: 'invalid-approval', reason: 'approval signature does not verify' } });
    expect(checkApproval(event('a1', token('a1')), record(), keys, new Date(now.getTime() + 120_000))).toMatchObject({ ok: false, refusal: { code: 'invalid-approval' } });
  });
});
