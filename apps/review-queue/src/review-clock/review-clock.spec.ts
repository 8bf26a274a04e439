import pino from 'pino';
import { ConflictException } from '@nestjs/common';
import { generateSigningKey, verifyReviewDecision } from '@countersign/approval';
import { TOPIC_SCHEMAS, TOPICS, TopicMap } from '@countersign/contracts';
import { METRIC_DEFINITIONS, Metrics, parsePrometheusText, sampleSum } from '@countersign/metrics';
import { parseContract } from '@countersign/policy';
import { RecordingBus, reviewLaneDecision, testPolicyEngineKey } from '@countersign/testing';
import { ApprovalService } from '../approvals/approval.service';
import { ReviewConsumer } from '../queue/review.consumer';
import { DecisionOutbox } from '../review-item/decision-outbox';
import { InMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import { ReviewItem } from '../review-item/review-item.repository';
import { reviewItem } from '../review-item/review-item.suite';
import { generateReviewDataKey, parseReviewDataKey, ProposalSealer } from '../review-item/sealed-proposal';
import { EscalationNotice } from './escalation-notifier';
import { ReviewClock } from './review-clock';

// real: ReviewClock, the in-memory review items (the twin of the PostgreSQL ones, same shared suite), the decision
// outbox, ApprovalService, Ed25519 signing and verification, the in-memory bus (recording what it publishes), the
// review intake; fake: the clock (a settable `now`), the notification target (a list).
const T0 = Date.parse('2026-11-24T10:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const logger = pino({ level: 'silent' });
const finance = { id: 'fran', kind: 'human' as const, roles: ['finance'] };
const lead = { id: 'lena', kind: 'human' as const, roles: ['finance-lead'] };

/** A high-class item (SLA 900 s) queued at T0, escalating at 50 % to finance-lead. */
const item = (actionId: string, over: Partial<ReviewItem> = {}) =>
  reviewItem(actionId, at(900).toISOString(), {
    createdAt: at(0).toISOString(),
    slaClass: 'high',
    slaSeconds: 900,
    requiredRoles: ['finance'],
    escalateAt: at(450).toISOString(),
    escalateTo: ['finance-lead'],
    ...over,
  });

function setup(items = new InMemoryReviewItemRepository()) {
  const bus = new RecordingBus({ source: 'review-queue', logger });
  const metrics = new Metrics('review-queue', METRIC_DEFINITIONS, { defaultMetrics: false });
  const { signing, verifyKey } = generateSigningKey('rq-1');
  const outbox = new DecisionOutbox(bus, items, logger);
  const notices: EscalationNotice[] = [];
  let now = at(0);
  const clock = new ReviewClock(bus, items, signing, outbox, logger, { notify: async (n) => void notices.push(n) }, { now: () => now }, metrics);
  const approvals = new ApprovalService(bus, items, signing, outbox);
  const decisions = () =>
    bus.published
      .filter((p) => p.topic === TOPICS.reviewDecided)
      .map((p) => TOPIC_SCHEMAS[TOPICS.reviewDecided].parse(p.event) as TopicMap[typeof TOPICS.reviewDecided]);
  return {
    bus,
    items,
    clock,
    approvals,
    notices,
    decisions,
    /** The clock's counter `name` for an SLA class, as a scrape shows it. */
    counted: async (name: string, slaClass: string) => sampleSum(parsePrometheusText(await metrics.render()), name, { sla_class: slaClass }),
    keys: [verifyKey],
    /** Sets the fake clock to T0 + `seconds` and ticks once. */
    tickAt: (seconds: number) => ((now = at(seconds)), clock.tick()),
  };
}

describe('the review clock (fake clock)', () => {
  it('escalates once at 50 % of the SLA: the next tier joins the roles, a signed `escalated` decision, one notice without data', async () => {
    const t = setup();
    await t.items.add(item('a1'));
    expect(await t.tickAt(449)).toBe(0);
    expect(t.decisions()).toEqual([]);
    expect(await t.tickAt(450)).toBe(1);
    expect(await t.items.get('a1')).toMatchObject({ status: 'pending', requiredRoles: ['finance', 'finance-lead'], escalatedAt: at(450).toISOString() });
    const [escalated] = t.decisions();
    expect(escalated).toMatchObject({
      subject: 'a1',
      causationId: 'd-a1',
      actor: { id: 'review-queue', kind: 'service' },
      data: { decision: 'escalated', escalation: { kind: 'escalated', requiredRoles: ['finance', 'finance-lead'], dueAt: at(900).toISOString() } },
    });
    expect(verifyReviewDecision(escalated.data.signature!, t.keys, at(450))).toMatchObject({
      ok: true,
      claims: { decision: 'escalated', actionId: 'a1', deciders: ['review-queue'] },
    });
    expect(t.notices).toEqual([{ kind: 'escalated', actionId: 'a1', actionType: 'support.refund', slaClass: 'high', dueAt: at(900).toISOString() }]);
    // Later ticks before the due time do nothing more: one escalation.
    expect(await t.tickAt(600)).toBe(0);
    expect(t.decisions()).toHaveLength(1);
    expect(await t.counted('countersign_review_items_escalated_total', 'high')).toBe(1);
    expect(await t.counted('countersign_review_items_expired_total', 'high')).toBe(0);
    expect(t.notices).toHaveLength(1);
    // The next tier may now decide; so may the original role.
    await expect(t.approvals.approve('a1', lead, 'checked the refund', undefined, at(601))).resolves.toMatchObject({ status: 'approved' });
  });

  it('expires at 100 % of the SLA (sla_expired, signed, through the decision outbox), and a late approval gets 409', async () => {
    const t = setup();
    await t.items.add(item('a1'));
    await t.tickAt(450);
    expect(await t.tickAt(899)).toBe(0);
    expect(await t.tickAt(900)).toBe(1);
    expect(await t.items.get('a1')).toMatchObject({ status: 'expired', deciders: ['review-queue'], decidedAt: at(900).toISOString() });
    const expired = t.decisions()[1];
    expect(expired.data).toMatchObject({ decision: 'expired', reasonCode: 'sla_expired' });
    expect(expired.id).not.toBe(t.decisions()[0].id);
    expect(verifyReviewDecision(expired.data.signature!, t.keys, at(900))).toMatchObject({ ok: true, claims: { decision: 'expired', actionId: 'a1' } });
    expect((await t.items.decisionEvent('a1'))!.publishedAt).toBeDefined();
    const late = await t.approvals.approve('a1', finance, 'sorry, late', undefined, at(901)).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(ConflictException);
    expect((late as Error).message).toMatch(/expired .*sla_expired.*will never be executed/);
    expect(await t.tickAt(5_000)).toBe(0);
    expect(t.decisions()).toHaveLength(2);
    expect(await t.counted('countersign_review_items_expired_total', 'high')).toBe(1);
    expect(await t.counted('countersign_review_items_expired_total', 'standard')).toBe(0);
  });

  it('after a long stop, an item past both its times expires once, with no late escalation first', async () => {
    const t = setup();
    await t.items.add(item('a1'));
    // Both times passed while no clock ran: the due time wins, the item expires (no escalation of a dead item).
    expect(await t.tickAt(10_000)).toBe(1);
    expect(t.decisions().map((d) => d.data.decision)).toEqual(['expired']);
    expect(await t.tickAt(10_001)).toBe(0);
  });

  it('re-routes once to the fallback team at the SLA, with the SLA again, then expires', async () => {
    const t = setup();
    await t.items.add(item('a1', { fallbackTeam: 'marketing-on-call' }));
    await t.tickAt(450);
    expect(await t.tickAt(900)).toBe(1);
    expect(await t.items.get('a1')).toMatchObject({
      status: 'pending',
      requiredRoles: ['marketing-on-call'],
      dueAt: at(1800).toISOString(),
      reroutedAt: at(900).toISOString(),
    });
    expect(t.decisions()[1].data).toMatchObject({
      decision: 'escalated',
      escalation: { kind: 'rerouted', requiredRoles: ['marketing-on-call'], dueAt: at(1800).toISOString() },
    });
    expect(t.notices.map((n) => n.kind)).toEqual(['escalated', 'rerouted']);
    expect(await t.tickAt(1799)).toBe(0);
    expect(await t.counted('countersign_review_items_expired_total', 'high')).toBe(0);
    expect(await t.tickAt(1800)).toBe(1);
    expect((await t.items.get('a1'))!.status).toBe('expired');
    // The escalation and the re-route are both escalations; the expiry one expiry.
    expect(await t.counted('countersign_review_items_escalated_total', 'high')).toBe(2);
    expect(await t.counted('countersign_review_items_expired_total', 'high')).toBe(1);
    expect(t.decisions().map((d) => d.data.decision)).toEqual(['escalated', 'escalated', 'expired']);
    expect(new Set(t.decisions().map((d) => d.id)).size).toBe(3);
  });

  it('never approves on a timeout, whatever the item: half a quorum, a fallback, no escalation; the contract cannot say otherwise', async () => {
    const t = setup();
    await t.items.add(item('quorum', { quorum: 2 }));
    await t.items.addApproval('quorum', 'fran', 'fine by me');
    await t.items.add(item('fallback', { fallbackTeam: 'finance-on-call' }));
    await t.items.add(item('plain', { escalateAt: undefined, escalateTo: undefined }));
    for (let s = 0; s <= 3_600; s += 150) await t.tickAt(s);
    for (const id of ['quorum', 'fallback', 'plain']) expect((await t.items.get(id))!.status).toBe('expired');
    expect(t.decisions().map((d) => d.data.decision)).not.toContain('approved');
    // A contract that asks a timeout to approve is not a contract.
    expect(() => parseContract(contractWith('fail-closed'))).not.toThrow();
    expect(() => parseContract(contractWith('approve'))).toThrow(/whenUnavailable/);
  });

  it('two clocks on one store take each step once: one escalation and one expiry per item', async () => {
    const items = new InMemoryReviewItemRepository();
    const a = setup(items);
    const b = setup(items);
    for (let n = 0; n < 10; n++) await items.add(item(`a${n}`));
    for (const s of [450, 600, 900, 1200]) await Promise.all([a.tickAt(s), b.tickAt(s)]);
    const all = [...a.decisions(), ...b.decisions()];
    for (let n = 0; n < 10; n++) expect(all.filter((d) => d.subject === `a${n}`).map((d) => d.data.decision)).toEqual(['escalated', 'expired']);
    expect(a.notices.length + b.notices.length).toBe(10);
  });

  it('an escalation whose event the bus did not take is published by a later tick; the notice still goes', async () => {
    const t = setup();
    await t.items.add(item('a1'));
    t.bus.down = true;
    expect(await t.tickAt(450)).toBe(1);
    expect(t.notices).toHaveLength(1);
    t.bus.down = false;
    await t.tickAt(451);
    expect(t.decisions()).toEqual([]); // within the grace period: its own tick may still be publishing it
    await t.tickAt(456);
    expect(t.decisions().map((d) => d.data.decision)).toEqual(['escalated']);
    await t.tickAt(460);
    expect(t.decisions()).toHaveLength(1);
  });

  it('queues an item with its clock: escalation at the contract share of the SLA, the fallback team, the SLA', async () => {
    const items = new InMemoryReviewItemRepository();
    const intake = new ReviewConsumer(items, logger, new ProposalSealer(parseReviewDataKey(generateReviewDataKey())), [testPolicyEngineKey.verifyKey]);
    const decided = (id: string, review: NonNullable<TopicMap[typeof TOPICS.policyDecided]['data']['review']>) => reviewLaneDecision(id, { review });
    await intake.enqueue(
      decided('a1', { slaClass: 'high', slaSeconds: 900, requiredRoles: ['finance'], quorum: 1, escalation: { atShare: 0.5, to: ['finance-lead'] } }),
    );
    await intake.enqueue(
      decided('a2', {
        slaClass: 'normal',
        slaSeconds: 100,
        requiredRoles: ['reviewer'],
        quorum: 1,
        whenUnavailable: { fallback: 'on-call' },
        escalation: { atShare: 0.25, to: [] },
      }),
    );
    const [a1, a2] = [(await items.get('a1'))!, (await items.get('a2'))!];
    expect(Date.parse(a1.escalateAt!) - Date.parse(a1.createdAt)).toBe(450_000);
    expect(Date.parse(a1.dueAt) - Date.parse(a1.createdAt)).toBe(900_000);
    expect(a1).toMatchObject({ escalateTo: ['finance-lead'], slaSeconds: 900 });
    expect(a1.fallbackTeam).toBeUndefined();
    expect(Date.parse(a2.escalateAt!) - Date.parse(a2.createdAt)).toBe(25_000);
    expect(a2).toMatchObject({ fallbackTeam: 'on-call', slaSeconds: 100 });
    expect(a2.escalateTo).toBeUndefined();
  });
});

/** A minimal valid contract with one review-lane action whose `whenUnavailable` is `when`. */
function contractWith(when: string): string {
  return [
    'version: 1',
    'service: { name: s, model: { type: llm, version: "1" }, dataSources: [], owners: { product: a, platform: b, security: c, sre: d } }',
    'slaClasses: { normal: 60 }',
    'escalation: { atShare: 0.5, nextTier: { reviewer: review-lead } }',
    'actions:',
    '  support.reply: { owner: o, reversibility: reversible, customerImpact: low, regulatorySensitivity: none, blastRadius: single, lane: review, reason: r,',
    '    parameters: { type: object, additionalProperties: true },',
    `    review: { slaClass: normal, requiredRoles: [reviewer], quorum: 1, whenUnavailable: ${when} } }`,
    '',
  ].join('\n');
}
