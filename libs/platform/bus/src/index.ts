export * from './port';
export * from './codec';
export { InMemoryBus, InMemoryBroker } from './in-memory.bus';
export { KafkaBus } from './kafka.bus';
export { partitionFor } from './partitioner';
