import pino from 'pino';
import { generateSigningKey, ReviewDecision, signReviewDecision } from '@countersign/approval';
import { ExecutorOutcomeTopic, TOPICS, TopicMap } from '@countersign/contracts';
import { refundProposal, reviewLaneDecision, sealTestDecision, sealTestOutcome, testExecutorKey, testPolicyEngineKey } from '@countersign/testing';
import { OUTCOME_BEING_CHECKED, OUTCOME_CHECK, outcomeWaiting, summarise } from './action-status';
import { ActionViewConsumer } from './action-view.consumer';
import { InMemoryActionViewRepository } from './in-memory-action-view.repository';

// real: ActionViewConsumer, the in-memory read model (the PostgreSQL one stores the same entries), the review
// queue's Ed25519 decision tokens (a key made here); fake: nothing.

const reviewQueueKey = generateSigningKey('approvals-test');

/** The review queue's token for `decision` on `actionId` bound to `digest`. */
const signed = (decision: ReviewDecision, actionId: string, digest = 'a'.repeat(64), expiresAt?: string) =>
  signReviewDecision(reviewQueueKey.signing, {
    decision,
    actionId,
    digest,
    deciders: ['jane'],
    reasons: ['r'],
    issuedAt: '2026-11-24T10:00:00.000Z',
    ...(expiresAt && { expiresAt }),
  });

/** A read model and the consumer's handlers that fill it, by topic, and what it logged. */
function readModel() {
  const views = new InMemoryActionViewRepository();
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const consumer = new ActionViewConsumer(views, [reviewQueueKey.verifyKey], [testPolicyEngineKey.verifyKey], [testExecutorKey.verifyKey], logger);
  const handlers = (consumer as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers();
  return { views, handlers, logs };
}
/** An outcome as the executor publishes it (unsealed: the test seals it, or not), on action `a-<n>`. */
const byExecutor = <T extends ExecutorOutcomeTopic>(type: T, id: string, n: number, data: TopicMap[T]['data']): TopicMap[T] =>
  ({
    id,
    type,
    version: 1,
    source: 'executor',
    time: '2026-11-24T10:00:00.000Z',
    subject: `a-${n}`,
    correlationId: `c-${n}`,
    causationId: `d-${n}`,
    actor: { id: 'executor', kind: 'service', authMethod: 'service' },
    data,
  }) as TopicMap[T];

describe('action timeline', () => {
  it('keeps no regulated data in clear: neither in the detail nor in the actor', async () => {
    const { views, handlers } = readModel();
    const reviewer = { id: 'jane.doe@example.org', kind: 'human' as const, authMethod: 'bearer-token' as const };
    const event: TopicMap[typeof TOPICS.reviewDecided] = {
      id: 'e-1',
      type: TOPICS.reviewDecided,
      version: 1,
      source: 'review-queue',
      time: '2026-11-24T10:00:00.000Z',
      subject: 'a-1',
      correlationId: 'c-1',
      causationId: 'd-1',
      actor: reviewer,
      data: {
        decision: 'rejected',
        reviewers: [reviewer],
        reason: 'card 4111.1111.1111.1111 is not the customer’s',
        digest: 'a'.repeat(64),
        signature: signed('rejected', 'a-1'),
      },
    };
    await handlers[TOPICS.reviewDecided](event);
    const [entry] = await views.timeline('a-1');
    expect(entry).toMatchObject({ status: 'rejected', actor: 'j***@[email]' });
    expect(JSON.stringify(entry)).not.toMatch(/jane\.doe|4111/);
  });

  it('shows an escalation as still in review (to whom, due when) and an expiry as final, with its reason code', async () => {
    const { views, handlers } = readModel();
    const clock = { id: 'review-queue', kind: 'service' as const, authMethod: 'service' as const };
    const decided = (id: string, time: string, data: Partial<TopicMap[typeof TOPICS.reviewDecided]['data']>): TopicMap[typeof TOPICS.reviewDecided] => ({
      id,
      type: TOPICS.reviewDecided,
      version: 1,
      source: 'review-queue',
      time,
      subject: 'a-2',
      correlationId: 'c-2',
      causationId: 'd-2',
      actor: clock,
      data: { decision: 'escalated', reviewers: [clock], reason: 'r', digest: 'a'.repeat(64), signature: signed(data.decision ?? 'escalated', 'a-2'), ...data },
    });
    await handlers[TOPICS.reviewDecided](
      decided('e-esc', '2026-11-24T10:07:30.000Z', {
        reason: 'still undecided past its escalation time: escalated to finance-lead',
        escalation: { kind: 'escalated', requiredRoles: ['finance', 'finance-lead'], dueAt: '2026-11-24T10:15:00.000Z' },
      }),
    );
    await handlers[TOPICS.reviewDecided](
      decided('e-exp', '2026-11-24T10:15:00.000Z', { decision: 'expired', reason: 'no decision within the high SLA', reasonCode: 'sla_expired' }),
    );
    const timeline = await views.timeline('a-2');
    expect(timeline.map((t) => [t.status, t.detail])).toEqual([
      [
        'in_review',
        'review-queue: still undecided past its escalation time: escalated to finance-lead (escalated: roles finance, finance-lead, due 2026-11-24T10:15:00.000Z)',
      ],
      ['expired', 'review-queue: sla_expired: no decision within the high SLA'],
    ]);
    // The code for a program too, on the entry that has one only.
    expect(timeline.map((t) => t.reasonCode)).toEqual([undefined, 'sla_expired']);
    // A reason that begins with its code already (the review clock's expiry does) says it once.
    const again = readModel();
    await again.handlers[TOPICS.reviewDecided](
      decided('e-exp-2', '2026-11-24T10:15:01.000Z', { decision: 'expired', reason: 'sla_expired: nobody decided in time', reasonCode: 'sla_expired' }),
    );
    expect((await again.views.timeline('a-2')).map((t) => t.detail)).toEqual(['review-queue: sla_expired: nobody decided in time']);
  });

  it('shows an action the executor holds as held, with the reason', async () => {
    const { views, handlers } = readModel();
    const held = byExecutor(TOPICS.actionHeld, 'e-held', 3, {
      code: 'trust-stack-unhealthy',
      reason: 'the trust stack is failed: runs once it is healthy again',
      trustHealthEventId: 't-1',
    });
    await handlers[TOPICS.actionHeld](sealTestOutcome(held));
    expect(await views.timeline('a-3')).toEqual([
      expect.objectContaining({
        status: 'held',
        detail: 'trust-stack-unhealthy: the trust stack is failed: runs once it is healthy again',
        reasonCode: 'trust-stack-unhealthy',
      }),
    ]);
  });

  it('shows a prohibition with the rule that decided it, and `retryLater` only where its reason passes', async () => {
    const { views, handlers } = readModel();
    const prohibited = (actionId: string, rulesFired: string[], retryLater?: true) =>
      reviewLaneDecision(actionId, { lane: 'prohibited', rulesFired, reasons: ['r'], ...(retryLater && { retryLater }) });
    // The decider comes first among the rules fired (libs/policy's evaluate).
    await handlers[TOPICS.policyDecided](prohibited('a-11', ['trust-stack:unknown', 'refund-over-limit'], true));
    await handlers[TOPICS.policyDecided](prohibited('a-12', ['kill-switch:off']));
    await handlers[TOPICS.policyDecided](reviewLaneDecision('a-13', { rulesFired: ['refund-over-limit'] }));
    expect(await views.timeline('a-11')).toEqual([expect.objectContaining({ status: 'prohibited', reasonCode: 'trust-stack:unknown', retryLater: true })]);
    const [final] = await views.timeline('a-12');
    expect(final).toMatchObject({ status: 'prohibited', reasonCode: 'kill-switch:off' });
    expect(final).not.toHaveProperty('retryLater');
    // A lane that is not a prohibition carries neither: the card and the detail say why it went to review.
    const [review] = await views.timeline('a-13');
    expect(review.status).toBe('in_review');
    expect(review).not.toHaveProperty('reasonCode');
    expect(review).not.toHaveProperty('retryLater');
  });

  it('keeps a review decision off the timeline unless the review queue signed it as it says (red team: a forged rejection told the agent "refused")', async () => {
    const { views, handlers, logs } = readModel();
    const reviewer = { id: 'ceo', kind: 'human' as const, authMethod: 'bearer-token' as const };
    const decision = (id: string, data: Partial<TopicMap[typeof TOPICS.reviewDecided]['data']>): TopicMap[typeof TOPICS.reviewDecided] => ({
      id,
      type: TOPICS.reviewDecided,
      version: 1,
      source: 'review-queue',
      time: '2026-11-24T10:00:00.000Z',
      subject: 'a-4',
      correlationId: 'c-4',
      causationId: 'd-4',
      actor: reviewer,
      data: { decision: 'rejected', reviewers: [reviewer], reason: 'forged', digest: 'a'.repeat(64), ...data },
    });
    const forger = generateSigningKey('approvals-test');
    await handlers[TOPICS.reviewDecided](decision('f-1', {}));
    await handlers[TOPICS.reviewDecided](
      decision('f-2', {
        signature: signReviewDecision(forger.signing, {
          decision: 'rejected',
          actionId: 'a-4',
          digest: 'a'.repeat(64),
          deciders: ['x'],
          reasons: ['r'],
          issuedAt: '2026-11-24T10:00:00.000Z',
        }),
      }),
    );
    // Genuine tokens, for another action, another decision, another digest: a replay, not this decision.
    await handlers[TOPICS.reviewDecided](decision('f-3', { signature: signed('rejected', 'a-other') }));
    await handlers[TOPICS.reviewDecided](decision('f-4', { signature: signed('expired', 'a-4') }));
    await handlers[TOPICS.reviewDecided](decision('f-5', { signature: signed('rejected', 'a-4', 'b'.repeat(64)) }));
    expect(await views.timeline('a-4')).toEqual([]);
    expect(logs.filter((l) => l.alert === 'unsigned-review-event').map((l) => l.msg)).toEqual([
      'not on the timeline of action a-4: rejected without a signed decision token',
      'not on the timeline of action a-4: review decision signature does not verify',
      'not on the timeline of action a-4: the decision names action a-other, not a-4',
      'not on the timeline of action a-4: the token signs a decision "expired", the event says "rejected"',
      'not on the timeline of action a-4: the decision is bound to another version of the action (digest mismatch)',
    ]);
    // The genuine one, even read after its approval expired (a rebuild of the view): on the timeline.
    await handlers[TOPICS.reviewDecided](
      decision('g-1', { decision: 'approved', reason: 'ok', signature: signed('approved', 'a-4', 'a'.repeat(64), '2026-11-24T10:05:00.000Z') }),
    );
    expect((await views.timeline('a-4')).map((t) => t.status)).toEqual(['approved']);
  });

  it('shows that a person checks an unknown outcome, sealed by the executor, and its answer settling it', async () => {
    const { views, handlers, logs } = readModel();
    const digest = 'a'.repeat(64);
    await handlers[TOPICS.actionFailed](
      sealTestOutcome(byExecutor(TOPICS.actionFailed, 'f-1', 6, { outcome: 'outcome_unknown', connector: 'ledger', digest, error: 'the ledger answered 503' })),
    );
    const check = byExecutor(TOPICS.outcomeCheckRequested, 'chk-1', 6, {
      connector: 'ledger',
      digest,
      idempotencyKey: 'k-6',
      proposal: refundProposal(),
      proposerPrincipal: 'support-copilot',
      contractVersion: '2026.11.1',
      authorisedBy: 'approval',
      since: '2026-11-24T10:00:00.000Z',
      reason: 'the ledger cannot say whether it took effect',
    });
    // Unsealed: not on the timeline.
    await handlers[TOPICS.outcomeCheckRequested](check);
    expect(logs.filter((l) => l.alert === 'unsealed-outcome')).toHaveLength(1);
    await handlers[TOPICS.outcomeCheckRequested](sealTestOutcome({ ...check, time: '2026-11-24T10:05:00.000Z' }));
    const checked = summarise(await views.timeline('a-6'));
    expect(checked).toMatchObject({ status: 'outcome_unknown', reasonCode: OUTCOME_CHECK });
    expect(outcomeWaiting(checked)).toBe(OUTCOME_BEING_CHECKED);
    expect(checked.timeline.at(-1)!.detail).toBe('a person checks at ledger whether it took effect: the ledger cannot say whether it took effect');
    // The answer settles it: executed, whatever arrives after.
    await handlers[TOPICS.actionExecuted](
      sealTestOutcome(byExecutor(TOPICS.actionExecuted, 'x-6', 6, { connector: 'ledger', digest, authorisedBy: 'approval', attempt: 1 })),
    );
    const settled = summarise(await views.timeline('a-6'));
    expect(settled.status).toBe('executed');
    expect(outcomeWaiting(settled)).toBeUndefined();
  });

  it('leaves the action as it was when the executor refused an event, not the action (final: false)', async () => {
    const { views, handlers } = readModel();
    const refused = (id: string, final: boolean) =>
      byExecutor(TOPICS.actionRefused, id, 5, { code: 'approval-for-other-action', reason: 'the approval names action a-9, not a-5', suspicious: true, final });
    await handlers[TOPICS.actionRefused](sealTestOutcome(refused('r-1', false)));
    expect(await views.timeline('a-5')).toEqual([]);
    await handlers[TOPICS.actionRefused](sealTestOutcome(refused('r-2', true)));
    expect((await views.timeline('a-5')).map((t) => [t.status, t.reasonCode])).toEqual([['refused', 'approval-for-other-action']]);
  });

  it('keeps an outcome off the timeline unless the executor sealed it as it says (ADR 0042)', async () => {
    const { views, handlers, logs } = readModel();
    const executed = byExecutor(TOPICS.actionExecuted, 'x-1', 8, { connector: 'webhook', digest: 'a'.repeat(64), authorisedBy: 'approval', attempt: 1 });
    const genuine = sealTestOutcome(executed);
    // Unsealed; sealed by another key; the genuine seal moved onto a failure of the same action under the same id.
    await handlers[TOPICS.actionExecuted](executed);
    await handlers[TOPICS.actionExecuted](sealTestOutcome({ ...executed, id: 'x-2' }, generateSigningKey('test-executor').signing));
    await handlers[TOPICS.actionFailed]({
      ...executed,
      type: TOPICS.actionFailed,
      data: { outcome: 'failed', connector: 'webhook', digest: 'a'.repeat(64), error: 'refused by the target', seal: genuine.data.seal },
    });
    expect(await views.timeline('a-8')).toEqual([]);
    expect(logs.filter((l) => l.alert === 'unsealed-outcome')).toHaveLength(3);
    await handlers[TOPICS.actionExecuted](genuine);
    expect(await views.timeline('a-8')).toEqual([expect.objectContaining({ status: 'executed', eventId: 'x-1' })]);
  });

  it('keeps a policy decision off the timeline unless the policy engine sealed it as it says (ADR 0040)', async () => {
    const { views, handlers, logs } = readModel();
    const genuine = reviewLaneDecision('a-7');
    // Unsealed; sealed by another key; the genuine seal on the same decision made autonomous.
    const { seal: _seal, ...bare } = genuine.data;
    await handlers[TOPICS.policyDecided]({ ...genuine, id: 'forged-1', data: bare });
    await handlers[TOPICS.policyDecided](sealTestDecision({ ...genuine, id: 'forged-2' }, generateSigningKey('test-policy-engine').signing));
    await handlers[TOPICS.policyDecided]({ ...genuine, data: { ...genuine.data, lane: 'autonomous' } });
    expect(await views.timeline('a-7')).toEqual([]);
    expect(logs.filter((l) => l.alert === 'unsealed-decision')).toHaveLength(3);
    await handlers[TOPICS.policyDecided](genuine);
    expect(await views.timeline('a-7')).toEqual([expect.objectContaining({ status: 'in_review', lane: 'review', eventId: genuine.id })]);
  });
});
