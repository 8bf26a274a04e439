import pino from 'pino';
import { generateSigningKey, verifyReviewDecision } from '@countersign/approval';
import { TOPIC_SCHEMAS, TOPICS, TopicMap } from '@countersign/contracts';
import { METRIC_DEFINITIONS, Metrics, parsePrometheusText, sampleSum } from '@countersign/metrics';
import { RecordingBus, refundProposal, reviewLaneDecision, testPolicyEngineKey } from '@countersign/testing';
import type { DegradationContract } from '../degradation/governance.service';
import { DecisionOutbox } from '../review-item/decision-outbox';
import { InMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import { generateReviewDataKey, parseReviewDataKey, ProposalSealer } from '../review-item/sealed-proposal';
import { PROPOSER_BACKLOG_FULL, ProposerBacklogCap, TENANT_BACKLOG_FULL } from './proposer-backlog-cap';
import { ReviewConsumer } from './review.consumer';

// real: the review intake, ProposerBacklogCap, the in-memory review items (the PostgreSQL ones pass the same shared
// suite, `pendingAhead` and `tenantPendingAhead` included), the decision outbox, Ed25519 signing and verification, the metrics registry, the
// in-memory bus (recording what it publishes); fake: the contract (an object with the degradation section).
const logger = pino({ level: 'silent' });

function setup(maxPendingPerProposer: number | undefined, maxPendingPerTenant?: number) {
  const items = new InMemoryReviewItemRepository();
  const bus = new RecordingBus({ source: 'review-queue', logger });
  const metrics = new Metrics('review-queue', METRIC_DEFINITIONS, { defaultMetrics: false });
  const { signing, verifyKey } = generateSigningKey('rq-1');
  const contract: DegradationContract = {
    slaClasses: { high: 900 },
    degradation: {
      minDwellSeconds: 60,
      ...(maxPendingPerProposer !== undefined && { maxPendingPerProposer }),
      ...(maxPendingPerTenant !== undefined && { maxPendingPerTenant }),
      elevated: { enter: { pending: 200 }, exit: { pending: 100 } },
      constrained: { enter: { pending: 1000 }, exit: { pending: 500 } },
      halted: { enter: { pending: 5000 }, exit: { pending: 2500 } },
    },
  };
  const outbox = new DecisionOutbox(bus, items, logger);
  const cap = new ProposerBacklogCap(bus, items, signing, outbox, logger, contract, metrics);
  const intake = new ReviewConsumer(
    items,
    logger,
    new ProposalSealer(parseReviewDataKey(generateReviewDataKey())),
    [testPolicyEngineKey.verifyKey],
    undefined,
    cap,
  );
  const decisions = () =>
    bus.published
      .filter((p) => p.topic === TOPICS.reviewDecided)
      .map((p) => TOPIC_SCHEMAS[TOPICS.reviewDecided].parse(p.event) as TopicMap[typeof TOPICS.reviewDecided]);
  const by = (id: string, principal: string, tenant = 'acme') =>
    reviewLaneDecision(id, { proposerPrincipal: principal, proposal: { ...refundProposal(), tenant } });
  return {
    items,
    bus,
    intake,
    decisions,
    by,
    keys: [verifyKey],
    capped: async (labels: Record<string, string> = {}) =>
      sampleSum(parsePrometheusText(await metrics.render()), 'countersign_review_items_capped_total', labels),
  };
}

describe("the proposer's share of the review backlog (degradation.maxPendingPerProposer)", () => {
  it('rejects at intake, signed and with the reason, each approval past the cap of its proposer; other proposers keep theirs', async () => {
    const t = setup(3);
    for (let i = 0; i < 5; i++) await t.intake.enqueue(t.by(`flood-${i}`, 'ops-copilot'));
    await t.intake.enqueue(t.by('other-1', 'support-copilot'));
    const status = async (id: string) => (await t.items.get(id))?.status;
    expect(await Promise.all(['flood-0', 'flood-1', 'flood-2', 'flood-3', 'flood-4', 'other-1'].map(status))).toEqual([
      'pending',
      'pending',
      'pending',
      'rejected',
      'rejected',
      'pending',
    ]);
    const rejected = t.decisions();
    expect(rejected.map((d) => d.subject)).toEqual(['flood-3', 'flood-4']);
    expect(rejected[0]).toMatchObject({
      actor: { id: 'review-queue', kind: 'service' },
      causationId: 'd-flood-3',
      data: { decision: 'rejected', reasonCode: PROPOSER_BACKLOG_FULL, reviewers: [{ id: 'review-queue', kind: 'service' }] },
    });
    expect(rejected[0].data.reason).toContain('ops-copilot already has 3 approvals waiting');
    expect(verifyReviewDecision(rejected[0].data.signature!, t.keys, new Date())).toMatchObject({
      ok: true,
      claims: { decision: 'rejected', actionId: 'flood-3', deciders: ['review-queue'] },
    });
    expect(await t.capped()).toBe(2);
    expect(await t.capped({ cap: 'proposer' })).toBe(2);
    // Once one of theirs is decided, the proposer's next approval waits again.
    await t.items.decide('flood-0', 'rejected', ['rita'], 'no', new Date());
    await t.intake.enqueue(t.by('flood-5', 'ops-copilot'));
    expect(await status('flood-5')).toBe('pending');
  });

  it('answers a redelivery as the first delivery, and rejects an item that a crash left pending past the cap', async () => {
    const t = setup(2);
    for (let i = 0; i < 3; i++) await t.intake.enqueue(t.by(`r-${i}`, 'ops-copilot'));
    await t.intake.enqueue(t.by('r-0', 'ops-copilot'));
    await t.intake.enqueue(t.by('r-2', 'ops-copilot'));
    expect(t.decisions().map((d) => d.subject)).toEqual(['r-2']);
    expect((await t.items.get('r-0'))?.status).toBe('pending');
    // Stored by an intake that stopped before it judged the cap: the redelivery judges it.
    const u = setup(2);
    for (let i = 0; i < 3; i++) await u.items.add({ ...(await t.items.get(`r-${i}`))!, status: 'pending' });
    await u.intake.enqueue(u.by('r-2', 'ops-copilot'));
    expect((await u.items.get('r-2'))?.status).toBe('rejected');
  });

  it('caps nothing when the contract sets no maximum, nor an audit sample, nor a revision of an item this queue revised', async () => {
    const t = setup(undefined);
    for (let i = 0; i < 5; i++) await t.intake.enqueue(t.by(`n-${i}`, 'ops-copilot'));
    expect(t.decisions()).toEqual([]);

    const u = setup(1);
    await u.intake.enqueue(u.by('first', 'ops-copilot'));
    await u.intake.enqueue(reviewLaneDecision('sample', { lane: 'autonomous', sampledForAudit: true, proposerPrincipal: 'ops-copilot' }));
    await u.items.add({ ...(await u.items.get('first'))!, actionId: 'old', createdAt: new Date(0).toISOString(), status: 'revised' });
    const revision = reviewLaneDecision('new-version', {
      proposerPrincipal: 'ops-copilot',
      revisionOf: { actionId: 'old', by: 'rita', revisionEventId: 'rev-1', proposerPrincipal: 'ops-copilot' },
    });
    await u.intake.enqueue(revision);
    // A link to an item that was not revised is no revision: capped like any other approval.
    await u.intake.enqueue(
      reviewLaneDecision('z-claims-revision', {
        proposerPrincipal: 'ops-copilot',
        revisionOf: { actionId: 'first', by: 'rita', revisionEventId: 'x', proposerPrincipal: 'ops-copilot' },
      }),
    );
    expect(u.decisions().map((d) => d.subject)).toEqual(['z-claims-revision']);
    expect((await u.items.get('sample'))?.status).toBe('pending');
    expect((await u.items.get('new-version'))?.status).toBe('pending');
  });
});

describe("the tenant's share of the review backlog (degradation.maxPendingPerTenant)", () => {
  // Security probe, 2026-12-05: two globex agents, each under its proposer cap, together pushed every tenant into
  // `constrained`. The tenant's share counts all its agents.
  it("rejects at intake each approval past its tenant's cap, whichever agent proposed it; another tenant's still queue", async () => {
    const t = setup(500, 3);
    await t.intake.enqueue(t.by('g-a-0', 'globex-agent-a', 'globex'));
    await t.intake.enqueue(t.by('g-b-0', 'globex-agent-b', 'globex'));
    await t.intake.enqueue(t.by('g-a-1', 'globex-agent-a', 'globex'));
    await t.intake.enqueue(t.by('g-b-1', 'globex-agent-b', 'globex'));
    await t.intake.enqueue(t.by('acme-0', 'acme-agent', 'acme'));
    const status = async (id: string) => (await t.items.get(id))?.status;
    expect(await Promise.all(['g-a-0', 'g-b-0', 'g-a-1', 'g-b-1', 'acme-0'].map(status))).toEqual(['pending', 'pending', 'pending', 'rejected', 'pending']);
    const [rejected, ...others] = t.decisions();
    expect(others).toEqual([]);
    expect(rejected).toMatchObject({
      subject: 'g-b-1',
      causationId: 'd-g-b-1',
      data: { decision: 'rejected', reasonCode: TENANT_BACKLOG_FULL, reviewers: [{ id: 'review-queue', kind: 'service' }] },
    });
    // Which setting, and what to do: the agent reads it with the code.
    expect(rejected.data.reason).toContain('tenant globex already has 3 approvals waiting');
    expect(rejected.data.reason).toContain('degradation.maxPendingPerTenant');
    expect(rejected.data.reason).toContain('Propose it again once they are decided');
    expect(verifyReviewDecision(rejected.data.signature!, t.keys, new Date())).toMatchObject({
      ok: true,
      claims: { decision: 'rejected', actionId: 'g-b-1', deciders: ['review-queue'] },
    });
    expect(await t.capped({ cap: 'tenant' })).toBe(1);
    expect(await t.capped({ cap: 'proposer' })).toBe(0);
    // Once one of the tenant's is decided, its next approval waits again.
    await t.items.decide('g-a-0', 'approved', ['rita'], 'ok', new Date());
    await t.intake.enqueue(t.by('g-b-2', 'globex-agent-b', 'globex'));
    expect(await status('g-b-2')).toBe('pending');
  });

  it("names the proposer's cap when both are full, and caps by tenant alone when the proposer's is unset", async () => {
    const t = setup(2, 2);
    for (let i = 0; i < 3; i++) await t.intake.enqueue(t.by(`both-${i}`, 'globex-agent-a', 'globex'));
    expect(t.decisions().map((d) => [d.subject, d.data.reasonCode])).toEqual([['both-2', PROPOSER_BACKLOG_FULL]]);

    const u = setup(undefined, 2);
    for (let i = 0; i < 3; i++) await u.intake.enqueue(u.by(`t-${i}`, `globex-agent-${i}`, 'globex'));
    expect(u.decisions().map((d) => [d.subject, d.data.reasonCode])).toEqual([['t-2', TENANT_BACKLOG_FULL]]);
  });

  it('caps no tenant when the contract sets no maximum', async () => {
    const t = setup(500);
    for (let i = 0; i < 5; i++) await t.intake.enqueue(t.by(`n-${i}`, `globex-agent-${i % 2}`, 'globex'));
    expect(t.decisions()).toEqual([]);
  });
});
