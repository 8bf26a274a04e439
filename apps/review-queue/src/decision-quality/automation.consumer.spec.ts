import pino from 'pino';
import { generateSigningKey, verifyKeysOfSigner } from '@countersign/approval';
import { InMemoryBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { emitControlFact, emitSealed } from '@countersign/nest';
import { RecordingBus, reviewLaneDecision, testPolicyEngineKey } from '@countersign/testing';
import { OVERRIDE_SUBJECT } from '../degradation/control-state';
import { AutomationConsumer } from './automation.consumer';
import type { DecisionQuality } from './decision-quality';
import { InMemoryDecisionQualityStore } from './in-memory-decision-quality.store';

// real: the consumer's handlers, the in-memory store (the PostgreSQL one passes the same shared suite), the seals;
// fake: nothing (events are handed to the handlers).
describe("the governance page's automation ratio and override frequency count only sealed events (ADR 0039, 0040)", () => {
  it('a forged decision or override is not counted; the genuine ones are', async () => {
    const store = new InMemoryDecisionQualityStore();
    const reviewQueue = generateSigningKey('review-queue-test');
    const consumer = new AutomationConsumer({ store } as unknown as DecisionQuality, [testPolicyEngineKey.verifyKey], verifyKeysOfSigner(reviewQueue.signing));
    const handlers = (consumer as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers();
    const bus = new InMemoryBus({ source: 'review-queue', logger: pino({ level: 'silent' }) });

    const genuine = reviewLaneDecision('a-1', { lane: 'autonomous' });
    const { seal: _seal, ...unsealed } = genuine.data;
    await handlers[TOPICS.policyDecided]({ ...genuine, id: 'forged', data: unsealed } as TopicMap[typeof TOPICS.policyDecided]);
    await handlers[TOPICS.policyDecided](genuine);
    const data = { override: { mode: 'normal' as const, by: 'ada', reason: 'test', expiresAt: new Date(Date.now() + 3600_000).toISOString() }, reason: 'test' };
    await handlers[TOPICS.degradationOverrideSet](bus.envelope(TOPICS.degradationOverrideSet, data, { subject: OVERRIDE_SUBJECT }));
    const sealed = await emitControlFact(bus, reviewQueue.signing, TOPICS.degradationOverrideSet, data, { subject: OVERRIDE_SUBJECT });
    await handlers[TOPICS.degradationOverrideSet](sealed);

    const counts = await store.laneCountsSince(new Date(0));
    expect(counts.reduce((n, c) => n + c.autonomous + c.review + c.prohibited, 0)).toBe(1);
    expect((await store.overridesSince(new Date(0))).map((o) => o.eventId)).toEqual([sealed.id]);
  });

  it('counts an action once: not again for each version made by approve with changes (auditor probe, 2026-12-07)', async () => {
    const store = new InMemoryDecisionQualityStore();
    const consumer = new AutomationConsumer({ store } as unknown as DecisionQuality, [testPolicyEngineKey.verifyKey], []);
    const handlers = (consumer as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers();
    await handlers[TOPICS.policyDecided](reviewLaneDecision('a-1'));
    const revisionOf = { actionId: 'a-1', by: 'alice', revisionEventId: 'rev-1', proposerPrincipal: 'support-copilot' };
    await handlers[TOPICS.policyDecided](reviewLaneDecision('a-1-v2', { revisionOf }));
    await handlers[TOPICS.policyDecided](reviewLaneDecision('a-1-v3', { lane: 'autonomous', revisionOf: { ...revisionOf, actionId: 'a-1-v2' } }));
    const counts = await store.laneCountsSince(new Date(0));
    expect(counts.reduce((n, c) => ({ review: n.review + c.review, autonomous: n.autonomous + c.autonomous }), { review: 0, autonomous: 0 })).toEqual({
      review: 1,
      autonomous: 0,
    });
  });

  it('counts a person’s autonomy change, sealed; not what Countersign took itself at a first look or for a new type (red team, 2026-12-07)', async () => {
    const store = new InMemoryDecisionQualityStore();
    const consumer = new AutomationConsumer({ store } as unknown as DecisionQuality, [testPolicyEngineKey.verifyKey], []);
    const handlers = (consumer as unknown as { handlers(): Record<string, (e: unknown) => Promise<void>> }).handlers();
    const bus = new RecordingBus({ source: 'policy-engine', logger: pino({ level: 'silent' }) });
    const change = (flag: string, more: object = {}) => ({
      flag,
      actionType: 'support.refund',
      control: 'kill-switch' as const,
      value: 'off' as const,
      change: 'accepted' as const,
      reason: 'test',
      ...more,
    });
    const sealed = (data: ReturnType<typeof change>) =>
      emitSealed(bus, testPolicyEngineKey.signing, TOPICS.autonomyChanged, data, { subject: data.flag }, 'decision');
    await handlers[TOPICS.autonomyChanged](await sealed(change('a', { origin: 'adopted' })));
    await handlers[TOPICS.autonomyChanged](await sealed(change('b', { origin: 'contract-added' })));
    const person = await sealed(change('c', { change: 'lowered' }));
    await handlers[TOPICS.autonomyChanged](person);
    await handlers[TOPICS.autonomyChanged](bus.envelope(TOPICS.autonomyChanged, change('d'), { subject: 'd' }));
    expect((await store.overridesSince(new Date(0))).map((o) => o.eventId)).toEqual([person.id]);
  });
});
