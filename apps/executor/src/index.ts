import { join } from 'node:path';
export { ExecutorModule } from './executor.module';
export { createInMemoryExecutionRepository } from './execution/in-memory-execution.repository';
export { ConnectorRegistry } from './connectors/connector';
export { WebhookConnector } from './connectors/webhook.connector';
// PostgreSQL adapter, for a host that brings a pool (the distributed main, an embedded database), and the
// migrations it must apply first (`migrate` from @countersign/storage, service `executor`).
export { createExecutionRepository } from './execution/pg-execution.repository';
export const EXECUTOR_MIGRATIONS_DIR = join(__dirname, '../migrations');
export * from './settings';
