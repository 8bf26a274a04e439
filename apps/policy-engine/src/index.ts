export { PolicyEngineModule, DEFAULT_CONTRACT_PATH, actionTypesOf } from './policy-engine.module';
