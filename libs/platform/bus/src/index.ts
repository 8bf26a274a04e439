export * from './port';
export * from './codec';
export { isDependencyFailure } from './failures';
export { buildEnvelope, serviceActor } from './envelope';
export type { EmitOptions, EventCause } from './envelope';
export { InMemoryBus, InMemoryBroker } from './in-memory.bus';
export { KafkaBus } from './kafka.bus';
export { createTopics } from './kafka-topics';
export { partitionFor } from './partitioner';
