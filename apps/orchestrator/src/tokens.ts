/** DI tokens of the orchestrator's ports. */
export const ACTION_VIEWS = Symbol('ActionViewRepository');
export const IDEMPOTENCY = Symbol('IdempotencyRepository');
export const RUNNING_CONTRACT = Symbol('RunningContract');
export const INSTANCE_ID = Symbol('InstanceId');
