export { PolicyEngineModule, DEFAULT_CONTRACT_PATH, actionTypesOf } from './policy-engine.module';
export type { PolicyEngineOptions } from './policy-engine.module';
export { createInMemoryChangeRequestStore } from './contract/in-memory-change-request.store';
export { createInMemoryDecisionRepository } from './decision/in-memory-decision.repository';
export { createInMemoryRateLimiter } from '@countersign/policy';
