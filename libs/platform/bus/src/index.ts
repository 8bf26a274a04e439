export * from './port';
export * from './codec';
export { InMemoryBus, InMemoryBroker } from './in-memory.bus';
export { KafkaBus } from './kafka.bus';
export { createTopics } from './kafka-topics';
export { partitionFor } from './partitioner';
