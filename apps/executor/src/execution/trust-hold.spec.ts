import { Module } from '@nestjs/common';
import pino from 'pino';
import { InMemoryBus } from '@countersign/bus';
import { Envelope, TOPICS, TopicMap } from '@countersign/contracts';
import { EXECUTOR_SEAL, verifyEventSeal } from '@countersign/approval';
import { FlagControls, FlagReader } from '@countersign/flags';
import { PlatformModule, serve, TokenRegistry, TrustHealthState } from '@countersign/nest';
import {
  autonomousDecisionData,
  emitTestControlFact,
  emitTestDecision,
  eventually,
  projectContract,
  smallRefundProposal,
  testExecutorKey,
  testPolicyEngineKey,
  testReviewQueueKey,
  trustHealthData,
} from '@countersign/testing';
import { Connector, ConnectorRegistry, ConnectorRequest } from '../connectors/connector';
import { ExecutorModule } from '../executor.module';
import { InMemoryExecutionRepository } from './in-memory-execution.repository';

// real: the executor module as its main wires it (ExecutionService, its consumers, the trust health and degradation
// followers on their control topics), the in-memory bus and execution record; fake: the connector (records calls), the
// flags (on), and the trust monitor (the test publishes its verdicts).

const logger = pino({ level: 'silent' });

describe('the executor under the trust health (ADR 0019)', () => {
  const bus = new InMemoryBus({ source: 'test', logger });
  const executions = new InMemoryExecutionRepository();
  const calls: ConnectorRequest[] = [];
  const connector: Connector = {
    name: 'test',
    capabilities: { idempotentByKey: false },
    execute: async (request) => (calls.push(request), { status: 'executed', externalRequestId: `x-${calls.length}`, attempts: 1 }),
  };
  const flags: FlagReader = {
    state: () => 'on',
    variant: () => undefined,
    ready: async () => true,
    loaded: () => true,
    notLoadedReason: () => undefined,
    close: async () => undefined,
  };
  const trust = new TrustHealthState();
  const executed: string[] = [];
  const outcomes: Envelope[] = [];
  const held: TopicMap[typeof TOPICS.actionHeld][] = [];
  let close: () => Promise<void>;

  const setTrust = (health: 'healthy' | 'unhealthy', previous?: 'healthy' | 'unhealthy') =>
    emitTestControlFact(bus, TOPICS.trustHealthChanged, trustHealthData(health, previous), { subject: 'trust-health' });
  // What the policy engine decides under the project contract, which the executor checks against.
  const contract = projectContract();
  const decided = (actionId: string, riskClass: 'low' | 'medium'): TopicMap[typeof TOPICS.policyDecided]['data'] => ({
    ...autonomousDecisionData(smallRefundProposal(`order-${actionId}`), contract),
    riskClass,
  });

  beforeAll(async () => {
    await bus.subscribe({
      group: 'test.watch',
      handlers: {
        [TOPICS.actionExecuted]: async (e) => void (executed.push(e.subject), outcomes.push(e)),
        [TOPICS.actionHeld]: async (e) => void (held.push(e), outcomes.push(e)),
      },
    });
    await emitTestControlFact(
      bus,
      TOPICS.degradationModeChanged,
      { mode: 'normal', previous: 'normal', computed: 'normal', inputs: {}, reason: 'test', computedSince: new Date().toISOString() },
      { subject: 'degradation-mode' },
    );
    // Unhealthy before the executor starts: it reads that from the control topic before it executes anything.
    await setTrust('unhealthy', 'healthy');
    @Module({
      imports: [
        PlatformModule.forRoot({ service: 'executor', bus, logger, tokens: new TokenRegistry([]) }),
        ExecutorModule.register({
          executions,
          connectors: new ConnectorRegistry(connector),
          flags,
          flagControls: new FlagControls(),
          flagPrefix: 'exec.',
          approvalKeys: [testReviewQueueKey.verifyKey],
          decisionKeys: [testPolicyEngineKey.verifyKey],
          outcomeSigner: testExecutorKey.signing,
          contract,
          trustHealth: trust,
        }),
      ],
    })
    class Root {}
    const { app } = await serve(Root, logger, { host: '127.0.0.1', port: 0 });
    close = async () => {
      await app.close();
      await bus.close();
    };
  });
  afterAll(() => close());

  it('holds a risky action while the trust stack is unhealthy (audited once, not refused), runs low-risk work, and executes the held one once healthy', async () => {
    await eventually(() => expect(trust.healthy()).toBe(false));
    await emitTestDecision(bus, decided('risky', 'medium'), { subject: 'risky', correlationId: 'c-risky' });
    await emitTestDecision(bus, decided('small', 'low'), { subject: 'small', correlationId: 'c-small' });
    // Low-risk work is not trust-sensitive: it runs.
    await eventually(() => expect(executed).toEqual(['small']), 30_000);
    // The risky one is held: audited with the reason and the verdict that held it, kept in `decided`, never at the connector.
    await eventually(() => expect(held.map((e) => e.subject)).toEqual(['risky']), 30_000);
    expect(held[0].data).toMatchObject({ code: 'trust-stack-unhealthy', trustHealthEventId: trust.source()!.eventId });
    expect(held[0].data.reason).toMatch(/unhealthy/);
    expect((await executions.get('risky'))?.state).toBe('decided');
    expect(calls.map((c) => c.actionId)).toEqual(['small']);

    await setTrust('healthy', 'unhealthy');
    await eventually(() => expect(executed).toEqual(['small', 'risky']), 30_000);
    expect((await executions.get('risky'))?.state).toBe('executed');
    // Redelivered meanwhile, but the hold was audited once.
    expect(held).toHaveLength(1);
    // Every outcome went out sealed with the executor's key (ADR 0042): the module publishes them through its sealing bus.
    expect(outcomes).toHaveLength(3);
    for (const e of outcomes) expect(verifyEventSeal(e as never, [testExecutorKey.verifyKey], EXECUTOR_SEAL)).toEqual({ ok: true });
  });
});
