/** DI tokens of the orchestrator's ports. */
export const ACTION_VIEWS = Symbol('ActionViewRepository');
export const IDEMPOTENCY = Symbol('IdempotencyRepository');
/** The per-principal rate of `POST /v1/proposals` (`ProposalRateLimit`). */
export const PROPOSAL_RATE = Symbol('ProposalRateLimit');
/** The review queue's public keys (`APPROVAL_VERIFY_KEYS_FILE`): review decisions and revisions are checked with them. */
export const APPROVAL_KEYS = Symbol('ApprovalVerifyKeys');
/** The policy engine's public decision keys (`DECISION_VERIFY_KEYS_FILE`): only a sealed decision is on the timeline (docs/adr/0040). */
export const DECISION_KEYS = Symbol('DecisionVerifyKeys');
/** The executor's public outcome keys (`OUTCOME_VERIFY_KEYS_FILE`): only a sealed outcome is on the timeline (docs/adr/0042). */
export const OUTCOME_KEYS = Symbol('OutcomeVerifyKeys');
