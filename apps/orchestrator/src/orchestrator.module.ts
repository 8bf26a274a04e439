import { DynamicModule, Module } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ActionViewConsumer } from './actions/action-view.consumer';
import { RedisActionViewRepository } from './actions/action-view.repository';
import { ActionsController } from './actions/actions.controller';
import { InMemoryActionViewRepository } from './actions/fake-action-view.repository';
import { InMemoryIdempotencyRepository } from './proposals/fake-idempotency.repository';
import { RedisIdempotencyRepository } from './proposals/idempotency.repository';
import { ProposalsConsumer } from './proposals/proposals.consumer';
import { ProposalsController } from './proposals/proposals.controller';
import { ProposalsService } from './proposals/proposals.service';
import { ACTION_VIEWS, IDEMPOTENCY } from './tokens';

/** Where the orchestrator keeps its state: Redis when given, in-process otherwise (embedded mode). */
export interface OrchestratorStores {
  redis?: Redis;
}

/** Ingress (HTTP and the proposals topic), client idempotency, and the action read model. */
@Module({})
export class OrchestratorModule {
  static register(stores: OrchestratorStores = {}): DynamicModule {
    return {
      module: OrchestratorModule,
      controllers: [ProposalsController, ActionsController],
      providers: [
        ProposalsService,
        ProposalsConsumer,
        ActionViewConsumer,
        { provide: ACTION_VIEWS, useValue: stores.redis ? new RedisActionViewRepository(stores.redis) : new InMemoryActionViewRepository() },
        { provide: IDEMPOTENCY, useValue: stores.redis ? new RedisIdempotencyRepository(stores.redis) : new InMemoryIdempotencyRepository() },
      ],
    };
  }
}
