import pino from 'pino';
import { buildEnvelope, DependencyUnavailableError, EmitOptions, EventBus } from '@countersign/bus';
import { AnyTopic, EventData, TOPICS, TopicMap } from '@countersign/contracts';
import type { FlagReader, FlagState } from '@countersign/flags';
import { DegradationModeState } from '@countersign/nest';
import { AgentStats, InMemoryAgentStats, InMemoryRateLimiter, RunningContract } from '@countersign/policy';
import { refundProposal } from '@countersign/testing';
import { DEFAULT_CONTRACT_PATH } from '../policy-engine.module';
import { DecisionService } from './decision.service';
import { InMemoryDecisionRepository } from './in-memory-decision.repository';

// real: DecisionService, the project's contract and its anomaly rules, the in-process agent statistics, decision
// store and rate limiter; fake: the bus (records what is published), the flags (all on, full autonomy) and, in
// the outage case, the statistics (a store that cannot answer).

type Decided = TopicMap[typeof TOPICS.policyDecided];
const t0 = Date.parse('2026-11-24T10:00:00.000Z');

function harness(stats: AgentStats) {
  const published: Decided[] = [];
  const bus = {
    envelope: (topic: AnyTopic, data: EventData<AnyTopic>, options: EmitOptions) => buildEnvelope(topic, data, 'policy-engine', options),
    publish: async (_topic: AnyTopic, event: TopicMap[AnyTopic]) => void published.push(event as Decided),
  } as unknown as EventBus;
  const flags: FlagReader = {
    state: (): FlagState => 'on',
    variant: (name) => (name.includes('autonomy') ? 'autonomous' : undefined),
    ready: async () => true,
    loaded: () => true,
    notLoadedReason: () => undefined,
    close: async () => undefined,
  };
  const mode = new DegradationModeState();
  mode.caughtUp();
  const logger = pino({ level: 'silent' });
  const service = new DecisionService(
    bus,
    RunningContract.fromFile(DEFAULT_CONTRACT_PATH),
    flags,
    { execPrefix: 'exec.', autonomyPrefix: 'autonomy.' },
    new InMemoryRateLimiter(),
    new InMemoryDecisionRepository(),
    {},
    logger,
    mode,
    stats,
  );
  /** A short reply (autonomous by contract) from the support copilot at `confidence`, proposed at `t0 + seconds`. */
  const propose = (id: string, seconds: number, confidence: number) =>
    service.onActionProposed({
      id: `proposed-${id}`,
      type: TOPICS.actionProposed,
      version: 1,
      source: 'orchestrator',
      time: new Date(t0 + seconds * 1000).toISOString(),
      subject: id,
      correlationId: `corr-${id}`,
      causationId: null,
      actor: { id: 'support-copilot', kind: 'agent', authMethod: 'bearer-token' },
      data: {
        proposal: { ...refundProposal(), actionType: 'support.reply', target: `ticket-${id}`, parameters: { body: 'On its way.' }, confidence },
        receivedVia: 'http',
      },
    });
  return { published, propose };
}

describe('DecisionService with the contract anomaly rules', () => {
  it('a burst of 30 proposals at 0.99 after a baseline at about 0.7: from the 20th on they go to review, naming the rule', async () => {
    const { published, propose } = harness(new InMemoryAgentStats());
    // A calm day: 120 replies over six hours, confidence 0.65 to 0.75, ending ten minutes before the burst.
    for (let i = 0; i < 120; i++) await propose(`base-${i}`, -6 * 3600 + i * 175, 0.65 + (i % 11) * 0.01);
    expect(published.every((d) => d.data.lane === 'autonomous')).toBe(true);
    published.length = 0;

    for (let i = 0; i < 30; i++) await propose(`burst-${i}`, i * 2, 0.99);
    expect(published.map((d) => d.subject)).toEqual(Array.from({ length: 30 }, (_, i) => `burst-${i}`));
    // Nineteen proposals are not a trend (minCount 20); from the twentieth the short window holds enough.
    expect(published.slice(0, 19).map((d) => d.data.lane)).toEqual(Array(19).fill('autonomous'));
    expect(published.slice(19).map((d) => d.data.lane)).toEqual(Array(11).fill('review'));
    const twentieth = published[19].data;
    expect(twentieth.rulesFired).toContain('anomaly:confidence-rise');
    expect(twentieth.reasons).toContainEqual(
      expect.stringMatching(
        /^anomaly:confidence-rise: mean confidence rose from 0\.(69\d|7) \(1\d\d proposals over the \d+ s before\) to 0\.99 \(20 proposals in the last 300 s\), more than 0\.15$/,
      ),
    );
    expect(twentieth.review?.requiredRoles).toEqual(['reviewer']);

    // A redelivered burst proposal is answered with its stored decision and not counted again.
    await propose('burst-29', 58, 0.99);
    expect(published[published.length - 1]).toEqual(published[29]);
    await propose('after', 60, 0.99);
    expect(published[published.length - 1].data.reasons.join(' ')).toMatch(/to 0\.99 \(31 proposals in the last 300 s\)/);
  });

  it('an agent new to it (no baseline) is caught by the ceiling alone; a calm new agent is not', async () => {
    const sure = harness(new InMemoryAgentStats());
    for (let i = 0; i < 25; i++) await sure.propose(`s-${i}`, i, 0.99);
    expect(sure.published.filter((d) => d.data.lane === 'review')).toHaveLength(6);
    expect(sure.published[24].data.reasons).toContain(
      'anomaly:confidence-rise: mean confidence 0.99 (25 proposals in the last 300 s) is above the ceiling 0.97',
    );

    const calm = harness(new InMemoryAgentStats());
    for (let i = 0; i < 25; i++) await calm.propose(`c-${i}`, i, 0.9);
    expect(calm.published.every((d) => d.data.lane === 'autonomous')).toBe(true);
  });

  it('an agent new to it at a steady rate is not a rise: its baseline starts when it began, not a day ago', async () => {
    const { published, propose } = harness(new InMemoryAgentStats());
    // One reply every 10 s for 40 minutes: well past the coarse baseline buckets' edges.
    for (let i = 0; i < 240; i++) await propose(`steady-${i}`, i * 10, 0.9);
    expect(published.filter((d) => d.data.lane !== 'autonomous').map((d) => d.data.reasons[0])).toEqual([]);
  });

  it('statistics that cannot be read decide nothing (a dependency error, retried), never "no anomaly"', async () => {
    let down = true;
    const store = new InMemoryAgentStats();
    const flaky: AgentStats = {
      observe: async (...args) => {
        if (down) throw new DependencyUnavailableError('agent statistics unavailable (Redis): connect ECONNREFUSED');
        return store.observe(...args);
      },
    };
    const { published, propose } = harness(flaky);
    await expect(propose('a-1', 0, 0.9)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(published).toHaveLength(0);
    down = false;
    await propose('a-1', 0, 0.9);
    expect(published.map((d) => d.data.lane)).toEqual(['autonomous']);
  });
});
