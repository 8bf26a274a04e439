/**
 * Countersign's event contracts: the envelope, the one topic registry, a schema per event version,
 * the action digest, and helpers to describe validation problems precisely.
 * @packageDocumentation
 */
export * from './envelope';
export * from './events';
export * from './topics';
export * from './digest';
export * from './validation';
export * from './json-schema';
export * from './strict-json';
export * from './text';
export * from './submission-signature';
export * from './topic-access';
