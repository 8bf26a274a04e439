import { Module } from '@nestjs/common';
import pino from 'pino';
import { generateSigningKey } from '@countersign/approval';
import { InMemoryBus } from '@countersign/bus';
import { TOPICS, TopicMap } from '@countersign/contracts';
import { FlagControls, FlagReader } from '@countersign/flags';
import { DegradationModeState, PlatformModule, serve, TokenRegistry } from '@countersign/nest';
import { eventually, refundProposal, trustHealthData } from '@countersign/testing';
import { Connector, ConnectorRegistry, ConnectorRequest } from '../connectors/connector';
import { ExecutorModule } from '../executor.module';
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
  const executed: string[] = [];
  let close: () => Promise<void>;

  const setMode = (m: 'normal' | 'halted', previous: 'normal' | 'halted') =>
    bus.emit(
      TOPICS.degradationModeChanged,
      { mode: m, previous, computed: m, inputs: { pending: 0 }, reason: `test: ${m}`, computedSince: new Date().toISOString() },
      { subject: 'degradation-mode' },
    );
  const decided = (actionId: string): TopicMap[typeof TOPICS.policyDecided]['data'] => ({
    lane: 'autonomous',
    reasons: ['small refund'],
    rulesFired: [],
    contractVersion: '1',
    contractHash: 'h',
    score: 0,
    digest: 'd'.repeat(64),
    proposal: { ...refundProposal(), target: `order-${actionId}` },
    proposerPrincipal: 'support-copilot',
    sampledForAudit: false,
  });

  beforeAll(async () => {
    await bus.subscribe({ group: 'test.watch', handlers: { [TOPICS.actionExecuted]: async (e) => void executed.push(e.subject) } });
    // Halted before the executor starts: it reads that from the control topic before it executes anything.
    await setMode('halted', 'normal');
    // A healthy trust stack (ADR 0019): only the mode holds anything here.
    await bus.emit(TOPICS.trustHealthChanged, trustHealthData('healthy'), { subject: 'trust-health' });
    @Module({
      imports: [
        PlatformModule.forRoot({ service: 'executor', bus, logger, tokens: new TokenRegistry([]) }),
        ExecutorModule.register({
          executions,
          connectors: new ConnectorRegistry(connector),
          flags,
          flagControls: new FlagControls(),
          flagPrefix: 'exec.',
          approvalKeys: [generateSigningKey('k1').verifyKey],
          degradationMode: mode,
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

  it('holds an autonomous action while halted (kept, not refused), and executes it once the mode is lowered', async () => {
    await eventually(() => expect(mode.mode()).toBe('halted'));
    await bus.emit(TOPICS.policyDecided, decided('a1'), { subject: 'a1', correlationId: 'c-a1' });
    // The decision is stored and delivered again and again: the action waits in `decided`, never at the connector.
    await eventually(async () => expect((await executions.get('a1'))?.state).toBe('decided'));
    expect(calls).toHaveLength(0);
    expect(executed).toEqual([]);

    await setMode('normal', 'halted');
    await eventually(() => expect(executed).toEqual(['a1']), 30_000);
    expect(calls).toHaveLength(1);
    expect((await executions.get('a1'))?.state).toBe('executed');
  });
});
