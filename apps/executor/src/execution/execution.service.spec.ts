import pino from 'pino';
import { refundProposal, RecordingBus } from '@countersign/testing';
import { generateSigningKey, signApproval, signReviewDecision } from '@countersign/approval';
import type { SigningKey } from '@countersign/keys';
import { derivedEventId, Proposal, TOPICS, TopicMap } from '@countersign/contracts';
import { FlagReader, FlagState } from '@countersign/flags';
import { Connector, ConnectorRegistry, ConnectorRequest, ConnectorResult } from '../connectors/connector';
import { InMemoryExecutionRepository } from './in-memory-execution.repository';
import { ExecutionService } from './execution.service';

// real: ExecutionService, in-memory execution record, approval signing, the in-memory bus (which also records what it
// is given to publish); fake: connector, flags.
const proposal: Proposal = refundProposal();
const digest = 'd'.repeat(64);

/** The real in-memory bus, keeping a list of what it published. */
function setup(flag: FlagState = 'on') {
  const bus = new RecordingBus({ source: 'executor', logger: pino({ level: 'silent' }) });
  const published = bus.published;
  const calls: Array<{ request: ConnectorRequest; key: string }> = [];
  let result: ConnectorResult = { status: 'executed', externalRequestId: 'x-1', attempts: 1 };
  const connector: Connector = { name: 'test', execute: async (request, key) => (calls.push({ request, key }), result) };
  const flags: FlagReader = { state: () => flag, variant: () => undefined, ready: async () => true, close: async () => undefined };
  const { signing, verifyKey } = generateSigningKey('k1');
  const repo = new InMemoryExecutionRepository();
  const service = new ExecutionService(bus, repo, new ConnectorRegistry(connector), flags, 'exec.', [verifyKey], pino({ level: 'silent' }));
  const decided = (lane: 'autonomous' | 'review' | 'prohibited', actionId = 'a1'): TopicMap[typeof TOPICS.policyDecided] => ({
    id: `decision-${actionId}`,
    type: TOPICS.policyDecided,
    version: 1,
    source: 'policy-engine',
    time: new Date().toISOString(),
    subject: actionId,
    correlationId: 'c1',
    causationId: 'p1',
    actor: { id: 'policy-engine', kind: 'service' },
    data: {
      lane,
      reasons: ['r'],
      rulesFired: [],
      contractVersion: '1',
      contractHash: 'h',
      score: 0,
      digest,
      proposal,
      proposerPrincipal: 'support-copilot',
      sampledForAudit: false,
    },
  });
  const approval = (actionId = 'a1', tokenFor = actionId, id = `approval-${actionId}`): TopicMap[typeof TOPICS.reviewDecided] => ({
    id,
    type: TOPICS.reviewDecided,
    version: 1,
    source: 'review-queue',
    time: new Date().toISOString(),
    subject: actionId,
    correlationId: 'c1',
    causationId: `decision-${actionId}`,
    actor: { id: 'alice', kind: 'human' },
    data: {
      decision: 'approved',
      reviewers: [{ id: 'alice', kind: 'human' }],
      reason: 'ok',
      digest,
      approval: signApproval(signing, {
        actionId: tokenFor,
        digest,
        approvers: ['alice'],
        reasons: ['ok'],
        issuedAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 60_000).toISOString(),
      }),
    },
  });
  /** A rejection of `actionId`; its token signed by `key` for `tokenFor` and `tokenDigest`, or none at all. */
  const rejection = (
    actionId = 'a1',
    o: { key?: SigningKey | null; tokenFor?: string; tokenDigest?: string; id?: string } = {},
  ): TopicMap[typeof TOPICS.reviewDecided] => {
    const key = o.key === undefined ? signing : o.key;
    const issuedAt = new Date().toISOString();
    const signature =
      key &&
      signReviewDecision(key, {
        decision: 'rejected',
        actionId: o.tokenFor ?? actionId,
        digest: o.tokenDigest ?? digest,
        deciders: ['bob'],
        reasons: ['no'],
        issuedAt,
      });
    return {
      ...approval(actionId, actionId, o.id ?? `rejection-${actionId}`),
      actor: { id: 'bob', kind: 'human' },
      data: { decision: 'rejected', reviewers: [{ id: 'bob', kind: 'human' }], reason: 'no', digest, ...(signature ? { signature } : {}) },
    };
  };
  const refusals = () => published.filter((p) => p.topic === TOPICS.actionRefused).map((p) => p.event.data);
  return { service, repo, published, calls, decided, approval, rejection, refusals, signing, setResult: (r: ConnectorResult) => (result = r) };
}

describe('ExecutionService', () => {
  it('acts on the decision it stored first, not on a later copy of it that says otherwise (flags changed before a redelivery)', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    // The same decision event, evaluated again after the autonomy flag was raised: it must not execute.
    await t.service.onPolicyDecided(t.decided('autonomous'));
    expect(t.calls).toHaveLength(0);
    expect((await t.repo.get('a1'))!).toMatchObject({ state: 'decided', lane: 'review' });
    // The other way round: stored autonomous (and executed), a review copy changes nothing.
    await t.service.onPolicyDecided(t.decided('autonomous', 'a2'));
    await t.service.onPolicyDecided(t.decided('review', 'a2'));
    expect(t.calls.map((c) => c.request.actionId)).toEqual(['a2']);
  });

  it('executes an autonomous decision once, however often it is delivered, and republishes the same outcome event', async () => {
    const t = setup();
    const e = t.decided('autonomous');
    await t.service.onPolicyDecided(e);
    await t.service.onPolicyDecided(e);
    await t.service.onPolicyDecided(e);
    expect(t.calls).toHaveLength(1);
    expect(t.calls[0].key).toMatch(/^[0-9a-f]{64}$/);
    const executed = t.published.filter((p) => p.topic === TOPICS.actionExecuted);
    expect(executed).toHaveLength(3);
    expect(new Set(executed.map((p) => p.event.id))).toEqual(new Set([derivedEventId(TOPICS.actionExecuted, e.id)]));
    expect((await t.repo.get('a1'))!.state).toBe('executed');
  });

  it('says in the executed event how many requests carried the action (2 when the connector sent it once more)', async () => {
    const t = setup();
    t.setResult({ status: 'executed', attempts: 2 });
    await t.service.onPolicyDecided(t.decided('autonomous'));
    expect(t.published.map((p) => p.event.data)).toEqual([expect.objectContaining({ authorisedBy: 'autonomous-decision', attempt: 2 })]);
  });

  it('never executes a review-lane action without an approval, nor a prohibited one with one', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    await t.service.onPolicyDecided(t.decided('prohibited', 'a2'));
    await t.service.onReviewDecided(t.approval('a2'));
    expect(t.calls).toHaveLength(0);
    expect(t.published.map((p) => (p.event.data as { code?: string }).code)).toEqual(['not-authorised']);
  });

  it('executes an approved action once; an approval that arrived before the decision is kept, not lost', async () => {
    const t = setup();
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls).toHaveLength(0);
    await t.service.onPolicyDecided(t.decided('review'));
    expect(t.calls).toHaveLength(1);
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls).toHaveLength(1);
  });

  it('refuses a replayed approval (a second approval event for an executed action) as suspicious', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    await t.service.onReviewDecided(t.approval('a1'));
    await t.service.onReviewDecided(t.approval('a1', 'a1', 'replayed-event-id'));
    expect(t.calls).toHaveLength(1);
    const refused = t.published.filter((p) => p.topic === TOPICS.actionRefused);
    expect(refused.map((p) => p.event.data)).toEqual([expect.objectContaining({ code: 'approval-replayed', suspicious: true })]);
  });

  it('refuses an approval for another action id', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review', 'b1'));
    await t.service.onReviewDecided(t.approval('b1', 'a1'));
    expect(t.calls).toHaveLength(0);
    expect(t.published[0].event.data).toMatchObject({ code: 'approval-for-other-action', suspicious: true });
  });

  it('an unsigned rejection changes nothing and is refused as suspicious: the genuine approval that follows executes', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    await t.service.onReviewDecided(t.rejection('a1', { key: null, id: 'forged' }));
    expect((await t.repo.get('a1'))!.state).toBe('decided');
    expect(t.refusals()).toEqual([{ code: 'invalid-decision', reason: 'rejected without a signed decision token', suspicious: true }]);
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls.map((c) => c.request.actionId)).toEqual(['a1']);
  });

  it('a rejection signed by an unknown key, or for another action or digest, is ignored and audited; the approval still executes', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    await t.service.onReviewDecided(t.rejection('a1', { key: generateSigningKey('k1').signing, id: 'r1' }));
    await t.service.onReviewDecided(t.rejection('a1', { tokenFor: 'a2', id: 'r2' }));
    await t.service.onReviewDecided(t.rejection('a1', { tokenDigest: 'e'.repeat(64), id: 'r3' }));
    expect(t.refusals()).toEqual([
      expect.objectContaining({ code: 'invalid-decision', suspicious: true }),
      expect.objectContaining({ code: 'decision-for-other-action', suspicious: true }),
      expect.objectContaining({ code: 'digest-mismatch', suspicious: true }),
    ]);
    expect((await t.repo.get('a1'))!.state).toBe('decided');
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls).toHaveLength(1);
  });

  it('a genuine signed rejection closes the action: nothing executes, not even an approval that comes after it', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    await t.service.onReviewDecided(t.rejection('a1'));
    expect((await t.repo.get('a1'))!.state).toBe('rejected');
    expect(t.refusals()).toEqual([]);
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls).toHaveLength(0);
  });

  it('a genuine rejection that arrives before its policy decision is kept, and closes the action when the decision comes', async () => {
    const t = setup();
    await t.service.onReviewDecided(t.rejection('a1'));
    await t.service.onPolicyDecided(t.decided('review'));
    expect((await t.repo.get('a1'))!.state).toBe('rejected');
    await t.service.onReviewDecided(t.approval('a1'));
    expect(t.calls).toHaveLength(0);
  });

  it('a genuine rejection token sent as an approval executes nothing and is refused as suspicious', async () => {
    const t = setup();
    await t.service.onPolicyDecided(t.decided('review'));
    const e = t.approval('a1');
    await t.service.onReviewDecided({ ...e, data: { ...e.data, approval: undefined, signature: t.rejection('a1').data.signature } });
    expect(t.calls).toHaveLength(0);
    expect(t.refusals()).toEqual([expect.objectContaining({ code: 'decision-mismatch', suspicious: true })]);
  });

  it.each([
    ['off', 'kill-switch-off'],
    ['unknown', 'flag-unknown'],
  ] as const)('a kill switch that reads %s refuses execution (%s)', async (state, code) => {
    const t = setup(state);
    await t.service.onPolicyDecided(t.decided('autonomous'));
    expect(t.calls).toHaveLength(0);
    expect(t.published.map((p) => p.event.data)).toEqual([expect.objectContaining({ code, suspicious: false })]);
    expect((await t.repo.get('a1'))!.state).toBe('refused');
  });

  it('records a failed or unknown outcome and never calls the target again on redelivery', async () => {
    const t = setup();
    t.setResult({ status: 'outcome_unknown', error: 'timeout' });
    await t.service.onPolicyDecided(t.decided('autonomous'));
    await t.service.onPolicyDecided(t.decided('autonomous'));
    expect(t.calls).toHaveLength(1);
    expect(t.published.filter((p) => p.topic === TOPICS.actionFailed).map((p) => p.event.data)).toEqual([
      expect.objectContaining({ outcome: 'outcome_unknown' }),
      expect.objectContaining({ outcome: 'outcome_unknown' }),
    ]);
  });

  it('a redelivery after the executor died mid-call reports outcome_unknown instead of calling again', async () => {
    const t = setup();
    const e = t.decided('autonomous');
    await t.repo.saveDecision({ actionId: 'a1', correlationId: 'c1', decisionEventId: e.id, digest, lane: 'autonomous', proposal });
    await t.repo.claim('a1', e.id, null, new Date(Date.now() - 120_000)); // claimed two minutes ago, never finished
    await t.service.onPolicyDecided(e);
    expect(t.calls).toHaveLength(0);
    expect(t.published[0].event.data).toMatchObject({ outcome: 'outcome_unknown' });
  });
});
