export { OrchestratorModule } from './orchestrator.module';
