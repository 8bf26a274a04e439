import { generateSigningKey, signReviewDecision } from './index';
import { actionDigest, revisedActionId, TOPICS, TopicMap } from '@countersign/contracts';
import { genuineRevision } from './revision-check';

// real: the review queue's Ed25519 decision tokens (a key made here), the action digest; fake: nothing (the revision
// events are built here, as the review queue builds them).
type ProposalRevised = TopicMap[typeof TOPICS.proposalRevised];

const key = generateSigningKey('approvals-test');
const CONTRACT = '2026.12.7';

/** A revision as the review queue publishes it: the reviewer `alice` approved action a-1 with a new amount. */
function revision(over: { token?: Parameters<typeof signReviewDecision>[1]['revision'] | null; signer?: typeof key } = {}): ProposalRevised {
  const id = 'rev-1';
  const proposal = {
    actionType: 'support.refund',
    target: 'order-77',
    parameters: { amount: 20, currency: 'EUR', reason: 'late delivery' },
    proposer: { agentId: 'support-copilot', model: { name: 'gpt-x', version: '2026-09' }, promptTemplateVersion: 'support-v12' },
    confidence: 0.95,
    tenant: 'acme',
    region: 'eu-west',
    context: {},
  };
  const data = {
    digest: 'a'.repeat(64),
    newActionId: revisedActionId(id),
    proposal,
    revisedDigest: actionDigest(proposal, CONTRACT),
    contractVersion: CONTRACT,
    proposerPrincipal: 'support-copilot',
    changed: ['/parameters/amount'],
    reason: 'a smaller refund',
  };
  const bound =
    over.token === null
      ? undefined
      : (over.token ?? {
          newActionId: data.newActionId,
          revisedDigest: data.revisedDigest,
          proposerPrincipal: data.proposerPrincipal,
          contractVersion: CONTRACT,
        });
  const signature = signReviewDecision((over.signer ?? key).signing, {
    decision: 'revised',
    actionId: 'a-1',
    digest: data.digest,
    deciders: ['alice'],
    reasons: ['a smaller refund'],
    issuedAt: '2026-12-02T18:00:00.000Z',
    ...(bound && { revision: bound }),
  });
  return {
    id,
    type: TOPICS.proposalRevised,
    version: 1,
    source: 'review-queue',
    time: '2026-12-02T18:00:00.000Z',
    subject: 'a-1',
    correlationId: 'c-1',
    causationId: 'q-1',
    actor: { id: 'alice', kind: 'human', roles: ['reviewer'], authMethod: 'oidc' },
    data: { ...data, signature },
  };
}

const check = (e: ProposalRevised) => genuineRevision(e, [key.verifyKey]);

describe('a revision creates an action only as the review queue signed it (red team 2026-12-02: a forged revision ran as any agent and tenant)', () => {
  it('accepts the review queue genuine revision', () => {
    expect(check(revision())).toMatchObject({ ok: true, claims: { decision: 'revised' } });
  });

  it('refuses a revision without a token that verifies, or one that does not name the new version', () => {
    const e = revision();
    expect(check({ ...e, data: { ...e.data, signature: 'cs1.forged.sig' } })).toEqual({ ok: false, reason: 'malformed review decision claims' });
    expect(check(revision({ signer: generateSigningKey('approvals-test') }))).toEqual({ ok: false, reason: 'review decision signature does not verify' });
    // A genuine token of a revision from before it named the new version: the new version is unproven.
    expect(check(revision({ token: null }))).toEqual({ ok: false, reason: 'the revision token does not name the new version it creates' });
  });

  it('refuses a genuine token carried with another new version: another proposal, proposer, action id or contract', () => {
    const e = revision();
    const other = { ...e.data.proposal, tenant: 'globex', proposer: { ...e.data.proposal.proposer, agentId: 'ops-copilot' } };
    // The proposal swapped, its digest left: not the proposal approved.
    expect(check({ ...e, data: { ...e.data, proposal: other } })).toEqual({
      ok: false,
      reason: 'the new proposal is not the one the reviewer approved (revisedDigest)',
    });
    // … and its digest recomputed: not the digest signed.
    expect(check({ ...e, data: { ...e.data, proposal: other, revisedDigest: actionDigest(other, CONTRACT) } })).toEqual({
      ok: false,
      reason: 'the revision token names another new version (revisedDigest)',
    });
    expect(check({ ...e, data: { ...e.data, proposerPrincipal: 'ops-copilot' } })).toEqual({
      ok: false,
      reason: 'the revision token names another new version (proposerPrincipal)',
    });
    expect(check({ ...e, data: { ...e.data, newActionId: 'a-new' } })).toEqual({
      ok: false,
      reason: 'the revision token names another new version (newActionId)',
    });
    // Another action, or another reviewer than the one who signed.
    expect(check({ ...e, subject: 'a-2' })).toEqual({ ok: false, reason: 'the decision names action a-1, not a-2' });
    expect(check({ ...e, actor: { ...e.actor, id: 'mallory' } })).toEqual({ ok: false, reason: 'the revision was signed for alice, not mallory' });
  });
});
