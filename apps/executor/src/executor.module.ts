import { DynamicModule, Module } from '@nestjs/common';
import type { VerifyKeys } from '@countersign/approval';
import type { FlagReader } from '@countersign/flags';
import { ConnectorRegistry, CONNECTORS } from './connectors/connector';
import { ExecutionConsumer } from './execution/execution.consumer';
import { ExecutionRepository } from './execution/execution.repository';
import { ExecutionService } from './execution/execution.service';
import { OutcomeAnswerConsumer } from './reconciliation/outcome-answer.consumer';
import { Reconciler } from './reconciliation/reconciler.service';
import { DEFAULT_RECONCILIATION, ReconciliationSettings } from './reconciliation/reconciliation.settings';
import { APPROVAL_KEYS, EXECUTIONS, FLAGS, FLAG_PREFIX, RECONCILIATION } from './tokens';

export interface ExecutorOptions {
  /** The execution record: `createExecutionRepository(pool)` in the distributed main, `createInMemoryExecutionRepository()` embedded. */
  executions: ExecutionRepository;
  connectors: ConnectorRegistry;
  flags: FlagReader;
  /** Kill-switch flags are named `<prefix><actionType>`. */
  flagPrefix: string;
  approvalKeys: VerifyKeys;
  /** The execution lease and the reconciler's period (`EXECUTION_LEASE_MS`, `RECONCILE_PERIOD_MS`); production defaults when unset. */
  reconciliation?: Partial<ReconciliationSettings>;
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
        Reconciler,
        OutcomeAnswerConsumer,
        { provide: RECONCILIATION, useValue: { ...DEFAULT_RECONCILIATION, ...options.reconciliation } },
        { provide: EXECUTIONS, useValue: options.executions },
        { provide: CONNECTORS, useValue: options.connectors },
        { provide: FLAGS, useValue: options.flags },
        { provide: FLAG_PREFIX, useValue: options.flagPrefix },
        { provide: APPROVAL_KEYS, useValue: options.approvalKeys },
      ],
    };
  }
}
