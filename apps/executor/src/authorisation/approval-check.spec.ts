import { generateSigningKey, ReviewDecision, signApproval, signReviewDecision } from '@countersign/approval';
import { TOPICS } from '@countersign/contracts';
import type { ActionRecord, ReviewDecidedEvent } from '../execution/execution.repository';
import { checkReviewDecision } from './approval-check';

// real: checkReviewDecision, Ed25519 keys and signed approval tokens (@countersign/approval); fake: the events and
// records, built by hand, and the clock (a fixed time).
const now = new Date('2026-11-24T10:00:00Z');
const digest = 'b'.repeat(64);
const { signing, verifyKey } = generateSigningKey('k1');
const keys = [verifyKey];

const token = (actionId: string, d = digest) =>
  signApproval(signing, {
    actionId,
    digest: d,
    approvers: ['alice'],
    reasons: ['ok'],
    issuedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + 60_000).toISOString(),
  });

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
    expect(checkReviewDecision(event('a1', token('a1')), record(), keys, now)).toMatchObject({ ok: true });
  });

  it('refuses a signed approval that names its proposer, or one approver twice (trust probe, 2026-12-05)', () => {
    const by = (approvers: string[]) =>
      signApproval(signing, {
        actionId: 'a1',
        digest,
        approvers,
        reasons: approvers.map(() => 'ok'),
        issuedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + 60_000).toISOString(),
      });
    const proposed = { ...record(), proposerPrincipal: 'support-copilot', proposal: { proposer: { agentId: 'support-bot' } } as ActionRecord['proposal'] };
    expect(checkReviewDecision(event('a1', by(['alice', 'support-copilot'])), proposed, keys, now)).toEqual({
      ok: false,
      refusal: { code: 'not-authorised', reason: 'separation of duties: support-copilot proposed this action and is among its approvers' },
    });
    expect(checkReviewDecision(event('a1', by(['support-bot'])), proposed, keys, now)).toMatchObject({ ok: false, refusal: { code: 'not-authorised' } });
    expect(checkReviewDecision(event('a1', by(['alice', 'alice'])), proposed, keys, now)).toEqual({
      ok: false,
      refusal: { code: 'not-authorised', reason: 'the approval names one approver twice (alice, alice): not a quorum the review queue counts' },
    });
    expect(checkReviewDecision(event('a1', by(['alice', 'bob'])), proposed, keys, now)).toMatchObject({ ok: true });
  });

  it('refuses an approval for another action id', () => {
    expect(checkReviewDecision(event('a1', token('a2')), record(), keys, now)).toMatchObject({ ok: false, refusal: { code: 'approval-for-other-action' } });
  });

  it('refuses a digest mismatch, in the token or in the event', () => {
    expect(checkReviewDecision(event('a1', token('a1', 'c'.repeat(64))), record(), keys, now)).toMatchObject({
      ok: false,
      refusal: { code: 'digest-mismatch' },
    });
    expect(checkReviewDecision(event('a1', token('a1'), 'c'.repeat(64)), record(), keys, now)).toMatchObject({
      ok: false,
      refusal: { code: 'digest-mismatch' },
    });
  });

  it('refuses an approval of a prohibited or autonomous action', () => {
    expect(checkReviewDecision(event('a1', token('a1')), record('prohibited'), keys, now)).toMatchObject({ ok: false, refusal: { code: 'not-authorised' } });
  });

  it('refuses a missing, forged or expired token', () => {
    expect(checkReviewDecision(event('a1'), record(), keys, now)).toMatchObject({ ok: false, refusal: { code: 'invalid-approval' } });
    const forger = generateSigningKey('k1');
    const forged = signApproval(forger.signing, {
      actionId: 'a1',
      digest,
      approvers: ['mallory'],
      reasons: ['x'],
      issuedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 60_000).toISOString(),
    });
    expect(checkReviewDecision(event('a1', forged), record(), keys, now)).toMatchObject({
      ok: false,
      refusal: { code: 'invalid-approval', reason: 'review decision signature does not verify' },
    });
    // Expired: with no record of the action to close, it authorises nothing and is suspicious as any bad token.
    expect(checkReviewDecision(event('a1', token('a1')), undefined, keys, new Date(now.getTime() + 120_000))).toMatchObject({
      ok: false,
      refusal: { code: 'invalid-approval' },
    });
    // The genuine approval of a review-lane action still waiting (held) ran out: the action is closed as stale.
    expect(checkReviewDecision(event('a1', token('a1')), record(), keys, new Date(now.getTime() + 120_000))).toMatchObject({
      ok: false,
      refusal: { code: 'authorisation-stale' },
      stale: true,
    });
    // An expired forgery is a forgery first.
    expect(checkReviewDecision(event('a1', forged), record(), keys, new Date(now.getTime() + 120_000))).toMatchObject({
      ok: false,
      refusal: { code: 'invalid-approval', reason: 'review decision signature does not verify' },
    });
  });
});

describe('review decision check (every decision is signed)', () => {
  const signed = (decision: ReviewDecision, actionId = 'a1', d = digest, key = signing) =>
    signReviewDecision(key, { decision, actionId, digest: d, deciders: ['bob'], reasons: ['no'], issuedAt: now.toISOString() });
  const decided = (
    decision: 'rejected' | 'expired',
    fields: { signature?: string; approval?: string; digest?: string; subject?: string } = {},
  ): ReviewDecidedEvent => {
    const e = event(fields.subject ?? 'a1', undefined, fields.digest ?? digest);
    const { subject: _s, digest: _d, ...tokens } = fields;
    return { ...e, data: { ...e.data, decision, reviewers: [{ id: 'bob', kind: 'human' }], ...tokens } };
  };

  it('accepts a rejection signed for this action and digest, and an expiry likewise', () => {
    expect(checkReviewDecision(decided('rejected', { signature: signed('rejected') }), record(), keys, now)).toMatchObject({
      ok: true,
      claims: { decision: 'rejected' },
    });
    expect(checkReviewDecision(decided('expired', { signature: signed('expired') }), record(), keys, now)).toMatchObject({
      ok: true,
      claims: { decision: 'expired' },
    });
  });

  it('refuses an unsigned or forged rejection', () => {
    expect(checkReviewDecision(decided('rejected'), record(), keys, now)).toEqual({
      ok: false,
      refusal: { code: 'invalid-decision', reason: 'rejected without a signed decision token' },
    });
    const forger = generateSigningKey('k1');
    expect(checkReviewDecision(decided('rejected', { signature: signed('rejected', 'a1', digest, forger.signing) }), record(), keys, now)).toMatchObject({
      ok: false,
      refusal: { code: 'invalid-decision', reason: 'review decision signature does not verify' },
    });
  });

  it('refuses a rejection signed for another action or another digest', () => {
    expect(checkReviewDecision(decided('rejected', { signature: signed('rejected', 'a2') }), record(), keys, now)).toMatchObject({
      ok: false,
      refusal: { code: 'decision-for-other-action' },
    });
    expect(checkReviewDecision(decided('rejected', { signature: signed('rejected', 'a1', 'c'.repeat(64)) }), record(), keys, now)).toMatchObject({
      ok: false,
      refusal: { code: 'digest-mismatch' },
    });
    // Token and event agree with each other, but not with the version of the action the policy engine decided on.
    const other = 'c'.repeat(64);
    expect(checkReviewDecision(decided('rejected', { signature: signed('rejected', 'a1', other), digest: other }), record(), keys, now)).toMatchObject({
      ok: false,
      refusal: { code: 'digest-mismatch' },
    });
  });

  it('refuses a token that signs another decision than the event says, either way round', () => {
    expect(checkReviewDecision(decided('rejected', { signature: token('a1') }), record(), keys, now)).toMatchObject({
      ok: false,
      refusal: { code: 'decision-mismatch' },
    });
    expect(checkReviewDecision(event('a1', signed('rejected')), record(), keys, now)).toMatchObject({ ok: false, refusal: { code: 'decision-mismatch' } });
  });

  it('reads the token from `signature`, or from `approval` as older review queues sent it, but not two different ones', () => {
    const e = event('a1');
    expect(checkReviewDecision({ ...e, data: { ...e.data, signature: token('a1') } }, record(), keys, now)).toMatchObject({ ok: true });
    expect(checkReviewDecision({ ...e, data: { ...e.data, signature: token('a1'), approval: token('a1') } }, record(), keys, now)).toMatchObject({
      ok: false,
      refusal: { code: 'invalid-approval' },
    });
  });
});
