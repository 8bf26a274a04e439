export { PolicyEngineModule, DEFAULT_CONTRACT_PATH, actionTypesOf } from './policy-engine.module';
export { InMemoryChangeRequestStore } from './contract/in-memory-change-request.store';
