export { OrchestratorModule } from './orchestrator.module';
export type { OrchestratorOptions, OrchestratorStores } from './orchestrator.module';
export { createInMemoryActionViewRepository } from './actions/in-memory-action-view.repository';
export { createInMemoryIdempotencyRepository } from './proposals/in-memory-idempotency.repository';
