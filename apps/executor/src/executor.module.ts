import { DynamicModule, Module } from '@nestjs/common';
import type { DecisionSigner, VerifyKeys } from '@countersign/approval';
import type { EventBus } from '@countersign/bus';
import type { FlagControls, FlagReader } from '@countersign/flags';
import { randomUUID } from 'node:crypto';
import { degradationModeProviders, DegradationModeState, EVENT_BUS, followContract, trustHealthProviders, TrustHealthState } from '@countersign/nest';
import type { VerifyKey } from '@countersign/keys';
import type { KeyList, RunningContract } from '@countersign/policy';
import { ConnectorRegistry, CONNECTORS } from './connectors/connector';
import { ExecutionConsumer } from './execution/execution.consumer';
import { FlagControlConsumer } from './execution/flag-control.consumer';
import { KillSwitchMetrics } from './execution/kill-switch-metrics';
import { ExecutionRepository } from './execution/execution.repository';
import { DEFAULT_MAX_HOLD_MS, ExecutionService } from './execution/execution.service';
import { ResendGate } from './reconciliation/resend-gate';
import { OutcomeOutbox, OutcomeOutboxSettings } from './execution/outcome-outbox';
import { OutcomeAnswerConsumer } from './reconciliation/outcome-answer.consumer';
import { Reconciler } from './reconciliation/reconciler.service';
import { sealingOutcomeBus } from './outcome-seal/sealing-bus';
import { DEFAULT_RECONCILIATION, ReconciliationSettings } from './reconciliation/reconciliation.settings';
import {
  APPROVAL_KEYS,
  DECISION_KEYS,
  EXECUTIONS,
  FLAGS,
  FLAG_PREFIX,
  AUTONOMY_PREFIX,
  OUTCOME_BUS,
  OUTCOME_OUTBOX_SETTINGS,
  RECONCILIATION,
  FLAG_CONTROLS,
  MAX_HOLD_MS,
  AUDIT_UNAVAILABLE,
} from './tokens';

export interface ExecutorOptions {
  /** The execution record: `createExecutionRepository(pool)` in the distributed main, `createInMemoryExecutionRepository()` embedded. */
  executions: ExecutionRepository;
  connectors: ConnectorRegistry;
  /** Read through `withFlagControls(reader, flagControls)`: the stricter of Unleash and the control topic. */
  flags: FlagReader;
  /** The control topic's entries, followed here and read by `flags` (ADR 0014). */
  flagControls: FlagControls;
  /** Kill-switch flags are named `<prefix><actionType>`. */
  flagPrefix: string;
  /**
   * Autonomy flags are named `<autonomyPrefix><actionType>` and `<autonomyPrefix>default`, as the policy engine reads
   * them: an autonomous decision whose level was lowered since is not run. Unset: the level is not looked at here.
   */
  autonomyPrefix?: string;
  approvalKeys: VerifyKeys;
  /** The policy engine's public decision keys (`DECISION_VERIFY_KEYS_FILE`): only a sealed decision is acted on (docs/adr/0040). */
  decisionKeys: VerifyKeys;
  /**
   * The executor's outcome keys (`OUTCOME_SIGNING_KEYS_FILE`, docs/adr/0042): every outcome it publishes is sealed with the
   * newest valid at the event's time; its readers take no unsealed outcome for what happened.
   */
  outcomeSigner: DecisionSigner;
  /**
   * The operational contract the policy engines run (`CONTRACT_PATH`), followed through every approved change: an
   * autonomous decision runs only if this contract lets its proposal run autonomously (authorisation/autonomy-check.ts).
   */
  contract: RunningContract;
  /** The keys that verify a contract change's signature (`CONTRACT_VERIFY_KEYS_FILE`, docs/adr/0038); none: no change applies. */
  contractChangeKeys?: KeyList<VerifyKey>;
  /** A name for this instance's contract-change follower group (default a random one). */
  instanceId?: string;
  /** The execution lease and the reconciler's period (`EXECUTION_LEASE_MS`, `RECONCILE_PERIOD_MS`); production defaults when unset. */
  reconciliation?: Partial<ReconciliationSettings>;
  /** How often outcomes whose event is still to publish are swept, and after how long (default every 5 s, after 5 s). */
  outcomeOutbox?: Partial<OutcomeOutboxSettings>;
  /** Where the mode read from the control topic is kept (a bench or test observes it); a new one when unset. */
  degradationMode?: DegradationModeState;
  /** Where the trust health read from its control topic is kept (ADR 0019; a test observes it); a new one when unset. */
  trustHealth?: TrustHealthState;
  /**
   * How long an authorisation holds while its execution is held (`EXECUTION_MAX_HOLD_SECONDS`, default a day): past it
   * the action is refused (`authorisation-stale`) instead of run on a decision made on older facts.
   */
  maxHoldSeconds?: number;
  /**
   * Why the audit trail cannot record now, or undefined when it can: while it says why, nothing executes (held, the bus
   * delivers again). The embedded mode's audit log is a file in the same process (a full disk, a file made unwritable);
   * the distributed audit writer reads Kafka, which keeps what it has not recorded yet, so it passes none.
   */
  auditUnavailable?: () => string | undefined;
}

/** Exactly-once execution of autonomous and approved actions, behind kill switches; unknown outcomes reconciled. */
@Module({})
export class ExecutorModule {
  static register(options: ExecutorOptions): DynamicModule {
    return {
      module: ExecutorModule,
      providers: [
        ExecutionService,
        ExecutionConsumer,
        OutcomeOutbox,
        Reconciler,
        ResendGate,
        OutcomeAnswerConsumer,
        { provide: RECONCILIATION, useValue: { ...DEFAULT_RECONCILIATION, ...options.reconciliation } },
        { provide: MAX_HOLD_MS, useValue: (options.maxHoldSeconds ?? DEFAULT_MAX_HOLD_MS / 1000) * 1000 },
        ...(options.auditUnavailable ? [{ provide: AUDIT_UNAVAILABLE, useValue: options.auditUnavailable }] : []),
        { provide: OUTCOME_OUTBOX_SETTINGS, useValue: options.outcomeOutbox ?? {} },
        { provide: EXECUTIONS, useValue: options.executions },
        { provide: CONNECTORS, useValue: options.connectors },
        { provide: FLAGS, useValue: options.flags },
        { provide: FLAG_CONTROLS, useValue: options.flagControls },
        FlagControlConsumer,
        KillSwitchMetrics,
        { provide: FLAG_PREFIX, useValue: options.flagPrefix },
        ...(options.autonomyPrefix !== undefined ? [{ provide: AUTONOMY_PREFIX, useValue: options.autonomyPrefix }] : []),
        { provide: APPROVAL_KEYS, useValue: options.approvalKeys },
        { provide: DECISION_KEYS, useValue: options.decisionKeys },
        { provide: OUTCOME_BUS, useFactory: (bus: EventBus) => sealingOutcomeBus(bus, options.outcomeSigner), inject: [EVENT_BUS] },
        ...followContract(options.contract, 'executor', options.instanceId ?? randomUUID().slice(0, 8), options.contractChangeKeys),
        // Halted holds executions; the mode follows the control topic (ADR 0013).
        ...degradationModeProviders('executor', options.approvalKeys, options.degradationMode),
        // Not healthy holds trust-sensitive executions; the health follows its control topic (ADR 0019).
        ...trustHealthProviders('executor', options.approvalKeys, options.trustHealth),
      ],
    };
  }
}
