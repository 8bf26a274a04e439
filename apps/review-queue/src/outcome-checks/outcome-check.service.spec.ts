import { ForbiddenException } from '@nestjs/common';
import pino from 'pino';
import { generateSigningKey, verifyReviewDecision } from '@countersign/approval';
import { isDependencyFailure } from '@countersign/bus';
import { TOPIC_SCHEMAS, TOPICS, TopicMap } from '@countersign/contracts';
import { RecordingBus, refundProposal, sealTestOutcome, testExecutorKey } from '@countersign/testing';
import { DecisionOutbox } from '../review-item/decision-outbox';
import { InMemoryReviewItemRepository } from '../review-item/in-memory-review-item.repository';
import { shownDigest, shownView } from '../review-item/shown';
import { OutcomeCheckConsumer } from './outcome-check.consumer';
import { OutcomeCheckService, outcomeCheckKey } from './outcome-check.service';

// real: OutcomeCheckService, the decision outbox and its sweeper, the in-memory review items, Ed25519 signing and
// verification, the in-memory bus (recording what it is given to publish); fake: a bus outage (publish refuses while `down`).
const digest = 'e'.repeat(64);
const now = new Date('2026-11-24T10:00:00.000Z');
const alice = { id: 'alice', kind: 'human' as const, roles: ['reviewer'] };

function setup() {
  const bus = new RecordingBus({ source: 'review-queue', logger: pino({ level: 'silent' }) });
  const items = new InMemoryReviewItemRepository();
  const { signing, verifyKey } = generateSigningKey('rq-1');
  const outbox = new DecisionOutbox(bus, items, pino({ level: 'silent' }), { graceMs: 5_000 });
  const service = new OutcomeCheckService(bus, items, signing, pino({ level: 'silent' }), outbox);
  const requested = (actionId = 'a1'): TopicMap[typeof TOPICS.outcomeCheckRequested] => ({
    id: `check-${actionId}`,
    type: TOPICS.outcomeCheckRequested,
    version: 1,
    source: 'executor',
    time: now.toISOString(),
    subject: actionId,
    correlationId: `c-${actionId}`,
    causationId: `approval-${actionId}`,
    actor: { id: 'executor', kind: 'service' },
    data: {
      connector: 'ledger',
      digest,
      idempotencyKey: 'k'.repeat(64),
      proposal: { ...refundProposal(), parameters: { amount: 480, card: '4111 1111 1111 1111' } },
      proposerPrincipal: 'support-copilot',
      contractVersion: '2026.11.1',
      authorisedBy: 'approval',
      since: now.toISOString(),
      reason: 'the executor stopped during the call',
    },
  });
  const answers = () =>
    bus.published.filter((p) => p.topic === TOPICS.outcomeCheckAnswered).map((p) => TOPIC_SCHEMAS[TOPICS.outcomeCheckAnswered].parse(p.event));
  return { service, items, requested, answers, keys: [verifyKey], bus, outbox };
}

/** The action's own review item, approved. */
const reviewed = (actionId: string) => ({
  kind: 'approval' as const,
  actionId,
  correlationId: `c-${actionId}`,
  decisionEventId: `decision-${actionId}`,
  digest,
  proposal: refundProposal(),
  proposerPrincipal: 'support-copilot',
  contractVersion: '2026.11.1',
  reasons: ['amount over threshold'],
  slaClass: 'normal',
  requiredRoles: ['reviewer'],
  quorum: 1,
  createdAt: now.toISOString(),
  dueAt: now.toISOString(),
  status: 'approved' as const,
});

describe('OutcomeCheckService: "did this happen?"', () => {
  it("queues the check once, beside the action's own review item, with regulated data masked", async () => {
    const t = setup();
    await t.items.add(reviewed('a1'));
    await t.service.enqueue(t.requested(), now);
    await t.service.enqueue(t.requested(), now); // redelivered
    expect((await t.items.get('a1'))!.kind).toBe('approval');
    const check = (await t.items.get(outcomeCheckKey('a1')))!;
    expect(check).toMatchObject({ kind: 'outcome-check', status: 'pending', decisionEventId: 'check-a1', requiredRoles: ['reviewer'], digest });
    expect(JSON.stringify(check.proposal)).not.toContain('4111 1111 1111 1111');
    // Looked up by the action id: the idempotency key derives from the action's digest, an oracle of the masked card.
    expect(check.reasons.join(' ')).toContain('by the action id a1');
    expect(check.reasons.join(' ')).not.toContain('k'.repeat(64));
    expect((await t.items.pending(10)).map((i) => i.actionId)).toEqual([outcomeCheckKey('a1')]);
  });

  it("gives the check to the roles of the action's own review, and to any reviewer when it ran on its own", async () => {
    const t = setup();
    await t.items.add({ ...reviewed('a2'), requiredRoles: ['security'] });
    await t.service.enqueue(t.requested('a2'), now);
    expect((await t.items.get(outcomeCheckKey('a2')))!.requiredRoles).toEqual(['security']);
    await expect(t.service.answer('a2', alice, true, 'the ledger shows it', undefined, now)).rejects.toThrow(/security/);
    await t.service.enqueue(t.requested('a3'), now);
    expect((await t.items.get(outcomeCheckKey('a3')))!.requiredRoles).toEqual(['reviewer']);
  });

  it('signs the answer (happened or not-happened) bound to the action and its digest, and takes one answer only', async () => {
    const t = setup();
    await t.service.enqueue(t.requested(), now);
    const seen = shownDigest(shownView((await t.items.get(outcomeCheckKey('a1')))!));
    expect(await t.service.answer('a1', alice, true, 'the ledger shows it', seen, now)).toEqual({ actionId: 'a1', status: 'happened' });
    await expect(t.service.answer('a1', alice, false, 'changed my mind', undefined, now)).rejects.toThrow(/already answered/);
    // One outside the check's roles hears 403 and nothing else: neither that it is answered and how, nor that a view
    // changed (red team, 2026-12-07: "already answered (happened)").
    const sam = { id: 'sam', kind: 'human' as const, roles: ['security'] };
    for (const seenDigest of [undefined, 'f'.repeat(64)]) {
      const refused = await t.service.answer('a1', sam, false, 'guessing', seenDigest, now).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ForbiddenException);
      expect(String((refused as Error).message)).not.toMatch(/answered|happened|changed/);
    }
    const [answer] = t.answers();
    expect(t.answers()).toHaveLength(1);
    expect(answer).toMatchObject({ subject: 'a1', correlationId: 'c-a1', causationId: 'check-a1', actor: { id: 'alice' }, data: { happened: true, digest } });
    expect(verifyReviewDecision(answer.data.signature, t.keys, now)).toMatchObject({
      ok: true,
      claims: { decision: 'happened', actionId: 'a1', digest, deciders: ['alice'] },
    });
  });

  it('lets neither the proposer nor a service answer, nor anyone on a stale view or an unknown check', async () => {
    const t = setup();
    await t.service.enqueue(t.requested(), now);
    await expect(t.service.answer('a1', { id: 'support-copilot', kind: 'human', roles: ['reviewer'] }, true, 'it did', undefined, now)).rejects.toThrow(
      /separation of duties/,
    );
    await expect(t.service.answer('a1', { id: 'bot', kind: 'service', roles: ['reviewer'] } as never, true, 'it did', undefined, now)).rejects.toThrow(
      /only a person/,
    );
    await expect(t.service.answer('a1', alice, true, 'it did', 'f'.repeat(64), now)).rejects.toThrow(/changed since it was shown/);
    await expect(t.service.answer('nope', alice, true, 'it did', undefined, now)).rejects.toThrow(/no outcome check/);
    expect(t.answers()).toHaveLength(0);
    expect((await t.items.get(outcomeCheckKey('a1')))!.status).toBe('pending');
  });
});

describe('OutcomeCheckService: an answer given while the bus is down is not lost', () => {
  it('keeps the answer, the sweeper publishes it once the bus is back, and the same retry gets 200 rather than 409', async () => {
    const t = setup();
    await t.service.enqueue(t.requested('a1'), now);
    await t.service.enqueue(t.requested('a2'), now);
    t.bus.down = true;
    const failed = await t.service.answer('a1', alice, false, 'not in the ledger', undefined, now).catch((e: unknown) => e);
    expect(isDependencyFailure(failed)).toBe(true);
    await expect(t.service.answer('a2', alice, true, 'the ledger shows it', undefined, now)).rejects.toThrow(/kafka is down/);
    expect((await t.items.get(outcomeCheckKey('a1')))!.status).toBe('not-happened');
    expect(await t.outbox.sweep(new Date(now.getTime() + 60_000))).toBe(0);

    t.bus.down = false;
    // a2: the reviewer retries and gets their answer back; a1: nobody retries, the sweeper publishes it.
    expect(await t.service.answer('a2', alice, true, 'the ledger shows it', undefined, now)).toEqual({ actionId: 'a2', status: 'happened' });
    await expect(t.service.answer('a2', alice, false, 'on second thoughts', undefined, now)).rejects.toThrow(/already answered/);
    expect(await t.outbox.sweep(new Date(now.getTime() + 60_000))).toBe(1);
    expect(await t.outbox.sweep(new Date(now.getTime() + 120_000))).toBe(0);
    expect(t.answers().map((a) => [a.subject, a.data.happened])).toEqual([
      ['a2', true],
      ['a1', false],
    ]);
    expect(verifyReviewDecision(t.answers()[1].data.signature, t.keys, now)).toMatchObject({
      ok: true,
      claims: { decision: 'not-happened', actionId: 'a1', digest, deciders: ['alice'] },
    });
  });
});

describe('OutcomeCheckConsumer: only a question the executor sealed reaches a reviewer (ADR 0042)', () => {
  it('queues a sealed check, and refuses an unsealed one, one sealed by another key, or one changed after sealing, with an alert', async () => {
    const t = setup();
    const logs: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
    const consumer = new OutcomeCheckConsumer(t.service, [testExecutorKey.verifyKey], logger);
    const handle = (consumer as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers()[TOPICS.outcomeCheckRequested];
    const genuine = sealTestOutcome(t.requested('a1'));
    await handle(t.requested('a1'));
    await handle(sealTestOutcome(t.requested('a1'), generateSigningKey('test-executor').signing));
    await handle({ ...genuine, data: { ...genuine.data, proposal: { ...genuine.data.proposal, parameters: { amount: 9999 } } } });
    expect(await t.items.get(outcomeCheckKey('a1'))).toBeUndefined();
    expect(logs.filter((l) => l.alert === 'outcome-check-refused')).toHaveLength(3);
    await handle(genuine);
    expect((await t.items.get(outcomeCheckKey('a1')))!.kind).toBe('outcome-check');
  });
});
