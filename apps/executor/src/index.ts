export { ExecutorModule } from './executor.module';
export { createInMemoryExecutionRepository } from './execution/in-memory-execution.repository';
export { ConnectorRegistry } from './connectors/connector';
export { WebhookConnector } from './connectors/webhook.connector';
