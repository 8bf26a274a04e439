import pino from 'pino';
import { generateSigningKey, POLICY_ENGINE_SEAL, verifyEventSeal } from '@countersign/approval';
import { buildEnvelope, DependencyUnavailableError, EmitOptions, EventBus } from '@countersign/bus';
import { AnyTopic, EventData, TOPICS, TopicMap } from '@countersign/contracts';
import type { FlagReader, FlagState } from '@countersign/flags';
import { DegradationModeState, TrustHealthState } from '@countersign/nest';
import { InMemoryRateLimiter, RunningContract } from '@countersign/policy';
import { refundProposal } from '@countersign/testing';
import { DEFAULT_CONTRACT_PATH } from '../policy-engine.module';
import { InMemoryDecisionRepository } from './in-memory-decision.repository';
import { DecisionService } from './decision.service';

/** The control topic read to its end, empty: the mode is normal. */
function normalMode(): DegradationModeState {
  const state = new DegradationModeState();
  state.caughtUp();
  return state;
}

/** An agent's short reply proposed for `subject` (autonomous by contract: only the autonomy flag sends it to review). */
const replyProposed = (subject: string, o: { id: string; target: string; time: string }): TopicMap[typeof TOPICS.actionProposed] => ({
  id: o.id,
  type: TOPICS.actionProposed,
  version: 1,
  source: 'orchestrator',
  time: o.time,
  subject,
  correlationId: `corr-${subject}`,
  causationId: null,
  actor: { id: 'support-copilot', kind: 'agent', authMethod: 'bearer-token' },
  data: { proposal: { ...refundProposal(), actionType: 'support.reply', target: o.target, parameters: { body: 'On its way.' } }, receivedVia: 'http' },
});

/** The service under test over the project's contract, with these flags; what it publishes is recorded. */
function decisionService(flags: FlagReader) {
  const published: Array<{ topic: AnyTopic; event: TopicMap[AnyTopic] }> = [];
  const bus = {
    envelope: (topic: AnyTopic, data: EventData<AnyTopic>, options: EmitOptions) => buildEnvelope(topic, data, 'policy-engine', options),
    publish: async (topic: AnyTopic, event: TopicMap[AnyTopic]) => void published.push({ topic, event }),
  } as unknown as EventBus;
  const logger = pino({ level: 'silent' });
  const decisions = new InMemoryDecisionRepository();
  const service = new DecisionService(
    bus,
    RunningContract.fromFile(DEFAULT_CONTRACT_PATH),
    flags,
    { execPrefix: 'exec.', autonomyPrefix: 'autonomy.' },
    new InMemoryRateLimiter(),
    decisions,
    {},
    logger,
    normalMode(),
  );
  return { service, published, decisions };
}

/** Flags loaded: every kill switch on, the autonomy level `autonomy()`. */
const loadedFlags = (autonomy: () => string): FlagReader => ({
  state: (): FlagState => 'on',
  variant: (name) => (name.includes('autonomy') ? autonomy() : undefined),
  ready: async () => true,
  loaded: () => true,
  notLoadedReason: () => undefined,
  close: async () => undefined,
});

// real: DecisionService, the project's contract, the in-process decision store and rate limiter;
// fake: the bus (records what is published) and the flags (set by the test).
describe('DecisionService', () => {
  it('decides an action once: a redelivered proposal gets the stored decision, even after a flag changed', async () => {
    let autonomy = 'review-all';
    const { service, published } = decisionService(loadedFlags(() => autonomy));
    // A small reply: autonomous by contract, so only the autonomy flag sends it to review.
    const proposed = replyProposed('action-1', { id: 'proposed-1', target: 'ticket-1', time: '2026-11-24T10:00:00.000Z' });
    await service.onActionProposed(proposed);
    autonomy = 'autonomous';
    await service.onActionProposed(proposed);
    const decisions = published.filter((p) => p.topic === TOPICS.policyDecided).map((p) => p.event as TopicMap[typeof TOPICS.policyDecided]);
    expect(decisions).toHaveLength(2);
    expect(decisions.map((d) => d.data.lane)).toEqual(['review', 'review']);
    expect(decisions[1]).toEqual(decisions[0]);

    // Another proposal under the decided action's id gets neither that decision nor a new one.
    await service.onActionProposed({ ...proposed, id: 'proposed-1b', data: { ...proposed.data, proposal: { ...proposed.data.proposal, target: 'ticket-2' } } });
    expect(published.filter((p) => p.topic === TOPICS.policyDecided)).toHaveLength(2);

    // A new action is decided under the flags as they are now.
    await service.onActionProposed({ ...proposed, id: 'proposed-2', subject: 'action-2' });
    expect((published[published.length - 1].event as TopicMap[typeof TOPICS.policyDecided]).data.lane).toBe('autonomous');
  });

  it('seals every decision (ADR 0040); a redelivery publishes the same sealed event, and a decision kept unsealed (before the upgrade) is sealed', async () => {
    const { service, published } = decisionService(loadedFlags(() => 'autonomous'));
    const key = generateSigningKey('policy-engine-test');
    Object.assign(service, { signer: key.signing });
    const proposed = (id: string) => replyProposed(id, { id: `proposed-${id}`, target: `ticket-${id}`, time: new Date().toISOString() });
    const decided = () => published.filter((p) => p.topic === TOPICS.policyDecided).map((p) => p.event as TopicMap[typeof TOPICS.policyDecided]);
    await service.onActionProposed(proposed('s1'));
    await service.onActionProposed(proposed('s1'));
    expect(decided()).toHaveLength(2);
    expect(decided()[1]).toEqual(decided()[0]);
    expect(verifyEventSeal(decided()[0], [key.verifyKey], POLICY_ENGINE_SEAL)).toEqual({ ok: true });
    // Decided before decisions were sealed (no key then): kept and published without a seal.
    Object.assign(service, { signer: undefined });
    await service.onActionProposed(proposed('s2'));
    const old = decided().at(-1)!;
    expect(old.data.seal).toBeUndefined();
    // Redelivered after the upgrade: the same decision, now sealed.
    Object.assign(service, { signer: key.signing });
    await service.onActionProposed(proposed('s2'));
    const again = decided().at(-1)!;
    expect(again.id).toBe(old.id);
    expect(again.data.lane).toBe(old.data.lane);
    expect(verifyEventSeal(again, [key.verifyKey], POLICY_ENGINE_SEAL)).toEqual({ ok: true });
  });

  it('decides nothing while its flags are not loaded (retried, not decided on unknown flags); once loaded, decides under them', async () => {
    let loaded = false;
    // Unleash not reached, no backup: every flag reads unknown.
    const flags: FlagReader = {
      state: (): FlagState => (loaded ? 'on' : 'unknown'),
      variant: (name) => (loaded && name.includes('autonomy') ? 'autonomous' : undefined),
      ready: async () => loaded,
      loaded: () => loaded,
      notLoadedReason: () => (loaded ? undefined : 'Unleash has not answered and there is no backup'),
      close: async () => undefined,
    };
    const { service, published, decisions } = decisionService(flags);
    const proposed: TopicMap[typeof TOPICS.actionProposed] = {
      id: 'proposed-1',
      type: TOPICS.actionProposed,
      version: 1,
      source: 'orchestrator',
      time: '2026-11-24T10:00:00.000Z',
      subject: 'action-1',
      correlationId: 'corr-1',
      causationId: null,
      actor: { id: 'support-copilot', kind: 'agent', authMethod: 'bearer-token' },
      data: { proposal: { ...refundProposal(), actionType: 'support.reply', target: 'ticket-1', parameters: { body: 'On its way.' } }, receivedVia: 'http' },
    };
    await expect(service.onActionProposed(proposed)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(published).toEqual([]);
    loaded = true;
    await service.onActionProposed(proposed);
    expect(published.map((p) => p.topic)).toEqual([TOPICS.policyDecided]);
    expect((await decisions.get('action-1'))?.data.lane).toBe('autonomous');
  });

  it('holds a risky decision while the trust verdict has only just gone stale (retried), and prohibits once the monitor is taken as gone', async () => {
    const { service, published, decisions } = decisionService(loadedFlags(() => 'autonomous'));
    const t0 = Date.parse('2026-11-24T10:00:00.000Z');
    let now = t0;
    const trust = new TrustHealthState(() => now);
    trust.caughtUp();
    const verdict = (time: number): TopicMap[typeof TOPICS.trustHealthChanged] => ({
      id: `trust-${time}`,
      type: TOPICS.trustHealthChanged,
      version: 1,
      source: 'review-queue',
      time: new Date(time).toISOString(),
      subject: 'trust-stack',
      correlationId: 'trust',
      causationId: null,
      actor: { id: 'review-queue', kind: 'service' },
      data: { health: 'healthy', findings: [], reason: 'every key and certificate is valid', heartbeatMs: 10_000, checkMs: 1_000 },
    });
    trust.apply(verdict(t0));
    Object.assign(service, { trust });
    const proposed = (id: string, proposal: Record<string, unknown>): TopicMap[typeof TOPICS.actionProposed] => ({
      id: `proposed-${id}`,
      type: TOPICS.actionProposed,
      version: 1,
      source: 'orchestrator',
      time: new Date(now).toISOString(),
      subject: id,
      correlationId: `corr-${id}`,
      causationId: null,
      actor: { id: 'support-copilot', kind: 'agent', authMethod: 'bearer-token' },
      data: { proposal: { ...refundProposal(), ...proposal }, receivedVia: 'http' },
    });
    // A merge is trust-sensitive (medium risk); a reply is not.
    const merge = (id: string) => proposed(id, { actionType: 'code.merge', target: `repo:docs#${id}`, parameters: { pullRequest: 88 } });
    const reply = (id: string) => proposed(id, { actionType: 'support.reply', target: `ticket-${id}`, parameters: { body: 'On its way.' } });

    // Stale for a moment (no heartbeat for 3 of them and a check: Kafka away, say): the merge is held, not decided.
    now = t0 + 31_001;
    expect(trust.healthy()).toBe('unknown');
    await expect(service.onActionProposed(merge('m1'))).rejects.toThrow(/stale/);
    expect(await decisions.get('m1')).toBeUndefined();
    // What does not depend on the trust stack is decided meanwhile.
    await service.onActionProposed(reply('r1'));
    expect((await decisions.get('r1'))?.data.lane).toBe('autonomous');
    // The next heartbeat lands: the held merge, delivered again, runs autonomously.
    trust.apply(verdict(now));
    await service.onActionProposed(merge('m1'));
    expect((await decisions.get('m1'))?.data).toMatchObject({ lane: 'autonomous' });

    // No heartbeat for long (the monitor is gone): failing closed stands, and the agent is told to retry later.
    now += 61_002;
    expect(trust.recentlyStale()).toBe(false);
    await service.onActionProposed(merge('m2'));
    expect((await decisions.get('m2'))?.data).toMatchObject({
      lane: 'prohibited',
      decidedBy: 'trust-stack',
      rulesFired: ['trust-stack:unknown'],
      retryLater: true,
    });
    expect(published.map((p) => [p.event.subject, (p.event as TopicMap[typeof TOPICS.policyDecided]).data.lane])).toEqual([
      ['r1', 'autonomous'],
      ['m1', 'autonomous'],
      ['m2', 'prohibited'],
    ]);
  });
});
