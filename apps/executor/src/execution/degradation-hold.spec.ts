import { Module } from '@nestjs/common';
import pino from 'pino';
import { InMemoryBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { FlagControls, FlagReader } from '@countersign/flags';
import { DegradationModeState, PlatformModule, serve, TokenRegistry } from '@countersign/nest';
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
import { ExecutionService } from './execution.service';
import { InMemoryExecutionRepository } from './in-memory-execution.repository';

// real: the executor module as its main wires it (ExecutionService, its consumers, the degradation-mode follower on
// the control topic), the in-memory bus and execution record; fake: the connector (records calls) and the flags (on).

const logger = pino({ level: 'silent' });

describe('the executor under the degradation mode', () => {
  const bus = new InMemoryBus({ source: 'test', logger });
  const executions = new InMemoryExecutionRepository();
  const calls: ConnectorRequest[] = [];
  const connector: Connector = {
    name: 'test',
    capabilities: { idempotentByKey: false },
    execute: async (request) => (calls.push(request), { status: 'executed', externalRequestId: 'x-1', attempts: 1 }),
  };
  const flags: FlagReader = {
    state: () => 'on',
    variant: () => undefined,
    ready: async () => true,
    loaded: () => true,
    notLoadedReason: () => undefined,
    close: async () => undefined,
  };
  const mode = new DegradationModeState();
  // Watched, not replaced: how often the executor tried to execute each action.
  const tries = jest.spyOn(ExecutionService.prototype as unknown as { execute(record: { actionId: string }): Promise<void> }, 'execute');
  const executed: string[] = [];
  const held: Array<TopicMap[typeof TOPICS.actionHeld]> = [];
  const refused: Array<TopicMap[typeof TOPICS.actionRefused]> = [];
  let close: () => Promise<void>;

  const setMode = (m: 'normal' | 'halted', previous: 'normal' | 'halted') =>
    emitTestControlFact(
      bus,
      TOPICS.degradationModeChanged,
      { mode: m, previous, computed: m, inputs: { pending: 0 }, reason: `test: ${m}`, computedSince: new Date().toISOString() },
      { subject: 'degradation-mode' },
    );
  // What the policy engine decides under the project contract, which the executor checks against.
  const contract = projectContract();
  const decided = (actionId: string): TopicMap[typeof TOPICS.policyDecided]['data'] =>
    autonomousDecisionData(smallRefundProposal(`order-${actionId}`), contract);

  beforeAll(async () => {
    await bus.subscribe({
      group: 'test.watch',
      handlers: {
        [TOPICS.actionExecuted]: async (e) => void executed.push(e.subject),
        [TOPICS.actionHeld]: async (e) => void held.push(e),
        [TOPICS.actionRefused]: async (e) => void refused.push(e),
      },
    });
    // Halted before the executor starts: it reads that from the control topic before it executes anything.
    await setMode('halted', 'normal');
    // A healthy trust stack (ADR 0019): only the mode holds anything here.
    await emitTestControlFact(bus, TOPICS.trustHealthChanged, trustHealthData('healthy'), { subject: 'trust-health' });
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
          degradationMode: mode,
          // An hour: a decision older than that when it could run is refused (the production default is a day).
          maxHoldSeconds: 3600,
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
  afterAll(async () => {
    tries.mockRestore();
    await close();
  });

  it('holds an autonomous action while halted (kept, not refused), and executes it once the mode is lowered', async () => {
    await eventually(() => expect(mode.mode()).toBe('halted'));
    await emitTestDecision(bus, decided('a1'), { subject: 'a1', correlationId: 'c-a1' });
    // The decision is stored and delivered again and again: the action waits in `decided`, never at the connector.
    await eventually(async () => expect((await executions.get('a1'))?.state).toBe('decided'));
    expect(calls).toHaveLength(0);
    expect(executed).toEqual([]);
    // The hold is audited, once however often the decision comes again (the timeline says `held`, and why).
    await eventually(() => expect(held.map((e) => [e.subject, e.data.code])).toEqual([['a1', 'degradation-halted']]));
    expect(held[0].data.reason).toBe('the degradation mode is halted: held until the mode is lowered');
    // The bus delivers the held decision again (with backoff): three tries, still one held event.
    await eventually(() => expect(tries.mock.calls.filter(([record]) => record.actionId === 'a1').length).toBeGreaterThanOrEqual(3), 30_000);
    expect(held).toHaveLength(1);

    await setMode('normal', 'halted');
    await eventually(() => expect(executed).toEqual(['a1']), 30_000);
    expect(calls).toHaveLength(1);
    expect((await executions.get('a1'))?.state).toBe('executed');
  });

  it('a decision held past the longest hold is refused (authorisation-stale), never run', async () => {
    await setMode('halted', 'normal');
    await eventually(() => expect(mode.mode()).toBe('halted'));
    // Decided 61 minutes ago (a redelivery after a long halt looks like this): older than the hour it holds.
    const time = new Date(Date.now() - 61 * 60_000);
    await emitTestDecision(bus, decided('a2'), { subject: 'a2', correlationId: 'c-a2', time });
    await eventually(async () => expect((await executions.get('a2'))?.state).toBe('refused'));
    // The refusal's event is published after the state is stored: waited for, not raced.
    await eventually(() => expect(refused.filter((e) => e.subject === 'a2')).toHaveLength(1));
    expect(refused.filter((e) => e.subject === 'a2').map((e) => e.data)).toEqual([
      {
        code: 'authorisation-stale',
        reason: `decided at ${time.toISOString()} and not executed within 1 h (held meanwhile): an authorisation this old no longer holds; propose again`,
        suspicious: false,
        final: true,
        seal: expect.stringMatching(/^cf1\./),
      },
    ]);
    await setMode('normal', 'halted');
    // A fresh decision still runs once the mode is lowered; the stale one does not.
    await emitTestDecision(bus, decided('a3'), { subject: 'a3', correlationId: 'c-a3' });
    await eventually(() => expect(executed).toEqual(['a1', 'a3']), 30_000);
    expect(calls.map((c) => c.actionId)).toEqual(['a1', 'a3']);
  });
});
