import { join } from 'node:path';
export { PolicyEngineModule, DEFAULT_CONTRACT_PATH, actionTypesOf } from './policy-engine.module';
export type { PolicyEngineOptions } from './policy-engine.module';
export { createInMemoryChangeRequestStore } from './contract/in-memory-change-request.store';
export { createInMemoryDecisionRepository } from './decision/in-memory-decision.repository';
export { createInMemoryAgentStats, createInMemoryRateLimiter } from '@countersign/policy';
// PostgreSQL adapters, for a host that brings a pool (the distributed main, an embedded database), and the
// migrations it must apply first (`migrate` from @countersign/storage, service `policy-engine`).
export { createChangeRequestStore } from './contract/pg-change-request.store';
export { createDecisionRepository } from './decision/pg-decision.repository';
// Autonomy changes: the flag file's admin side for the embedded mode, Unleash's for a host that has one (ADR 0014).
export { createFileFlagAdmin } from './autonomy/file-flag-admin';
export { createUnleashFlagAdmin } from './autonomy/unleash-flag-admin';
export const POLICY_ENGINE_MIGRATIONS_DIR = join(__dirname, '../migrations');
export * from './settings';
