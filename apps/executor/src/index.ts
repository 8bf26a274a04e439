export { ExecutorModule } from './executor.module';
export { InMemoryExecutionRepository } from './execution/fake-execution.repository';
export { ConnectorRegistry } from './connectors/connector';
export { WebhookConnector } from './connectors/webhook.connector';
