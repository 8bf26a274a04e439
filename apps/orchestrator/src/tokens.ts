/** DI tokens of the orchestrator's ports. */
export const ACTION_VIEWS = Symbol('ActionViewRepository');
export const IDEMPOTENCY = Symbol('IdempotencyRepository');
