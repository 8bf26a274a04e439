import { join } from 'node:path';
export { OrchestratorModule } from './orchestrator.module';
export { DEFAULT_PROPOSAL_RATE, EMBEDDED_PROPOSAL_RATE, proposalRateOf, proposalRateSettings } from './proposals/proposal-rate.settings';
export type { ProposalRate } from './proposals/proposal-rate.settings';
export type { OrchestratorOptions, OrchestratorStores } from './orchestrator.module';
export { createInMemoryActionViewRepository } from './actions/in-memory-action-view.repository';
export { createInMemoryIdempotencyRepository } from './proposals/in-memory-idempotency.repository';
// PostgreSQL adapters, for a host that brings a pool (the distributed main, an embedded database), and the
// migrations it must apply first (`migrate` from @countersign/storage, service `orchestrator`).
export { createActionViewRepository } from './actions/pg-action-view.repository';
export { createIdempotencyRepository } from './proposals/pg-idempotency.repository';
export const ORCHESTRATOR_MIGRATIONS_DIR = join(__dirname, '../migrations');
export * from './settings';
