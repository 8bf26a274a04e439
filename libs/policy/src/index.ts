/**
 * The operational contract as code, framework-free: parse and validate (JSON Schema, errors with file and
 * line), compile, evaluate with a fixed precedence and an explanation (masking from `@countersign/guardrails`), rate limits, scoped
 * tokens for privileged actions, sampling, and change control.
 * @packageDocumentation
 */
export * from './conditions';
export * from './contract';
export * from './evaluate';
export * from './money';
export * from './parameters';
export * from './self-protection';
export * from './rate-limit';
export * from './in-memory-rate-limiter';
export * from './anomaly';
export * from './agent-stats';
export * from './in-memory-agent-stats';
export * from './change-control';
export * from './change-signature';
export * from './canonical';
export * from './running-contract';
export * from './contract-lane';
export * from './text-file';
