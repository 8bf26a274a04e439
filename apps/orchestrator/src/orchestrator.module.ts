import { randomUUID } from 'node:crypto';
import { DynamicModule, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Logger } from '@countersign/logging';
import { LOGGER } from '@countersign/nest';
import { ActionViewConsumer } from './actions/action-view.consumer';
import { RedisActionViewRepository } from './actions/action-view.repository';
import { ActionsController } from './actions/actions.controller';
import { InMemoryActionViewRepository } from './actions/fake-action-view.repository';
import { ContractChangesConsumer } from './contract/contract-changes.consumer';
import { RunningContract } from './contract/running-contract';
import { InMemoryIdempotencyRepository } from './proposals/fake-idempotency.repository';
import { RedisIdempotencyRepository } from './proposals/idempotency.repository';
import { ProposalsConsumer } from './proposals/proposals.consumer';
import { ProposalsController } from './proposals/proposals.controller';
import { ProposalsService } from './proposals/proposals.service';
import { ACTION_VIEWS, IDEMPOTENCY, INSTANCE_ID, RUNNING_CONTRACT } from './tokens';

/** Where the orchestrator keeps its state: Redis when given, in-process otherwise (embedded mode). */
export interface OrchestratorStores {
  redis?: Redis;
}

export interface OrchestratorOptions extends OrchestratorStores {
  /** The operational contract the policy engines start with: parameters are checked against it (and its approved successors). */
  contractPath: string;
}

/** Ingress (HTTP and the proposals topic), proposer identity, parameter checks, client idempotency, and the action read model. */
@Module({})
export class OrchestratorModule {
  static register(options: OrchestratorOptions): DynamicModule {
    return {
      module: OrchestratorModule,
      controllers: [ProposalsController, ActionsController],
      providers: [
        ProposalsService,
        ProposalsConsumer,
        ActionViewConsumer,
        ContractChangesConsumer,
        { provide: RUNNING_CONTRACT, useFactory: (logger: Logger) => new RunningContract(options.contractPath, logger), inject: [LOGGER] },
        { provide: INSTANCE_ID, useValue: randomUUID().slice(0, 8) },
        { provide: ACTION_VIEWS, useValue: options.redis ? new RedisActionViewRepository(options.redis) : new InMemoryActionViewRepository() },
        { provide: IDEMPOTENCY, useValue: options.redis ? new RedisIdempotencyRepository(options.redis) : new InMemoryIdempotencyRepository() },
      ],
    };
  }
}
