/** DI tokens of the orchestrator's ports. */
export const ACTION_VIEWS = Symbol('ActionViewRepository');
export const IDEMPOTENCY = Symbol('IdempotencyRepository');
/** The review queue's public keys (`APPROVAL_VERIFY_KEYS_FILE`): review decisions and revisions are checked with them. */
export const APPROVAL_KEYS = Symbol('ApprovalVerifyKeys');
